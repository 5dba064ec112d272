# tfbnn training job. CPU by default; for a GPU build pass a TF 1.15 GPU base:
#   docker build --build-arg BASE_IMAGE=tensorflow/tensorflow:1.15.5-gpu-py3 -t tfbnn:gpu .
# (or NVIDIA's TF1 image, nvcr.io/nvidia/tensorflow:<yy.mm>-tf1-py3, for newer GPUs).
ARG BASE_IMAGE=python:3.7-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/tfbnn

# The pinned stack first, in a layer of its own: it is rebuilt only when the
# requirements change, not when the source does.
COPY requirements.txt ./
RUN python3 -m pip install -r requirements.txt

COPY setup.py README.md ./
COPY tfbnn ./tfbnn
RUN python3 -m pip install --no-deps . \
    && useradd --create-home --uid 1000 tfbnn \
    && mkdir -p /data /output \
    && chown tfbnn /data /output

USER tfbnn
WORKDIR /output
VOLUME ["/data", "/output"]
ENTRYPOINT ["tfbnn-train"]
CMD ["--output-dir", "/output/run", "--progress", "never"]
