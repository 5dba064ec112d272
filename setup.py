"""Packaging for tfbnn: Bayesian neural networks for TensorFlow 1.x graphs."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    scope = {}
    with open(os.path.join(HERE, 'tfbnn', 'version.py')) as f:
      exec(f.read(), scope)  # pylint: disable=exec-used
    return scope['__version__']


setup(
      name='tfbnn',
      version=_version(),
      description=('Bayes-by-Backprop layers for TensorFlow 1.x graphs, with the '
                   'KL in a named graph collection and a scaled ELBO.'),
      long_description=open(os.path.join(HERE, 'README.md')).read(),
      long_description_content_type='text/markdown',
      packages=find_packages(include=['tfbnn', 'tfbnn.*']),
      python_requires='>=3.7,<3.8',
      install_requires=[
          'tensorflow==1.15.5',
          'tensorflow-probability==0.8.0',
          # TensorFlow 1.15 does not import with newer versions of these.
          'numpy>=1.16,<1.19',
          'protobuf>=3.6.1,<3.21',
          'gast==0.2.2',
          'h5py>=2.10,<3',
          # The built-in dataset: the UCI optical digits bundled with sklearn.
          'scikit-learn==0.24.2',
          'matplotlib>=3.1,<3.6',
      ],
      extras_require={
          'test': ['pytest>=7,<8'],
      },
      entry_points={
          'console_scripts': [
              'tfbnn-train=tfbnn.cli.train:main',
              'tfbnn-export=tfbnn.cli.export:main',
              'tfbnn-reproduce=tfbnn.cli.reproduce:main',
          ],
      },
      classifiers=[
          'Programming Language :: Python :: 3.7',
          'Topic :: Scientific/Engineering :: Artificial Intelligence',
      ],
)
