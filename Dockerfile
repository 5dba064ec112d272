# tfbnn training job, for either stack:
#   docker build -t tfbnn .                                    # tf1: Python 3.7, TF 1.15.5
#   docker build --build-arg STACK=tf2 --build-arg BASE_IMAGE=python:3.11-slim -t tfbnn:tf2 .
# CPU by default. GPU: on tf1 a base with CUDA 10.0, cuDNN 7 and Python 3.7
#   as python3, and --build-arg TF_PACKAGE='tensorflow-gpu==1.15.5' (the TF
#   1.15.5 GPU image has Python 3.6, NVIDIA's TF1 images 3.8: both refused);
# on tf2 add --build-arg TF_PACKAGE='tensorflow[and-cuda]==2.21.0' (CUDA wheels
# from the package registry; run with --gpus all).
ARG BASE_IMAGE=python:3.7-slim
FROM ${BASE_IMAGE}
ARG STACK=tf1
ARG TF_PACKAGE=

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
COPY requirements.txt requirements-tf2.txt ./
RUN set -e; \
    case "$STACK" in \
      tf1) want='3.7'; req=requirements.txt ;; \
      tf2) want='3.10 3.11 3.12 3.13'; req=requirements-tf2.txt ;; \
      *) echo "STACK must be tf1 or tf2, got '$STACK'" >&2; exit 2 ;; \
    esac; \
    have="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"; \
    case " $want " in *" $have "*) ;; \
      *) echo "STACK=$STACK needs Python $want but BASE_IMAGE has $have" >&2; exit 2 ;; esac; \
    python3 -m pip install -r "$req"; \
    if [ -n "$TF_PACKAGE" ]; then \
      python3 -m pip uninstall -y tensorflow-cpu tensorflow; python3 -m pip install "$TF_PACKAGE"; \
    fi

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
