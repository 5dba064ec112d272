"""Packaging for tfbnn: Bayesian neural networks for TensorFlow graphs (1.15, and 2.x via tf.compat.v1)."""
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
      description=('Bayes-by-Backprop layers for TensorFlow graphs (1.15 and 2.x compat.v1), with the '
                   'KL in a named graph collection and a scaled ELBO.'),
      long_description=open(os.path.join(HERE, 'README.md')).read(),
      long_description_content_type='text/markdown',
      packages=find_packages(include=['tfbnn', 'tfbnn.*']),
      # Two stacks from one code base (all of it runs through tf.compat.v1):
      # Python 3.7 gets the pinned TensorFlow 1.15 stack, Python >= 3.10 the
      # TensorFlow 2.x one (CPU or GPU: tensorflow[and-cuda] for CUDA wheels).
      python_requires='>=3.7,!=3.8.*,!=3.9.*',
      install_requires=[
          'tensorflow==1.15.5; python_version < "3.8"',
          'tensorflow-probability==0.8.0; python_version < "3.8"',
          # TensorFlow 1.15 does not import with newer versions of these.
          'numpy>=1.16,<1.19; python_version < "3.8"',
          'protobuf>=3.6.1,<3.21; python_version < "3.8"',
          'gast==0.2.2; python_version < "3.8"',
          'h5py>=2.10,<3; python_version < "3.8"',
          'scikit-learn==0.24.2; python_version < "3.8"',
          'matplotlib>=3.1,<3.6; python_version < "3.8"',
          # The TF 2.x stack: graph mode through tf.compat.v1, no Keras used.
          'tensorflow>=2.16,<3; python_version >= "3.10"',
          'numpy>=1.26; python_version >= "3.10"',
          'scikit-learn>=1.3; python_version >= "3.10"',
          'matplotlib>=3.7; python_version >= "3.10"',
      ],
      extras_require={
          'test': ['pytest>=7,<8; python_version < "3.8"', 'pytest>=8; python_version >= "3.10"'],
          # tfbnn-export --format onnx (tf2onnx has no Python 3.7 wheel).
          'onnx': ['tf2onnx>=1.16; python_version >= "3.10"', 'onnx>=1.14; python_version >= "3.10"'],
      },
      entry_points={
          'console_scripts': [
              'tfbnn-train=tfbnn.cli.train:main',
              'tfbnn-export=tfbnn.cli.export:main',
              'tfbnn-reproduce=tfbnn.cli.reproduce:main',
              'tfbnn-kl-study=tfbnn.cli.kl_study:main',
              'tfbnn-local-cluster=tfbnn.cli.local_cluster:main',
          ],
      },
      classifiers=[
          'Programming Language :: Python :: 3.7',
          'Programming Language :: Python :: 3.10',
          'Programming Language :: Python :: 3.11',
          'Programming Language :: Python :: 3.12',
          'Operating System :: POSIX :: Linux',
          'Topic :: Scientific/Engineering :: Artificial Intelligence',
      ],
)
