# Transfer Lab in a container: the app (Streamlit), or a Ray node of the same code (compose.yaml).
# The install is the Makefile's own (`make install data`), so the pins live in requirements*.txt only.
#
# CPU (default; CPU-only torch wheels from the PyTorch index):
#   docker build -t transfer-lab .
# CUDA (PyPI's torch wheels, which bring their CUDA libraries; the host needs the NVIDIA driver and the
# NVIDIA Container Toolkit):
#   docker build -t transfer-lab:cuda --build-arg BASE_IMAGE=nvidia/cuda:13.0.1-runtime-ubuntu24.04 \
#     --build-arg TORCH_INDEX_URL= .
# Run: docker run --init -p 8501:8501 -v tlab-data:/data transfer-lab   (see docs/hosting.md)

ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# Extra pip index for torch/torchvision only (their +cpu builds win over PyPI's for the same pinned version);
# empty: PyPI alone.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    APP_HOME=/opt/transfer-lab

# make and dpkg for the Makefile; a Python with venv where the base has none (nvidia/cuda is plain Ubuntu).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends make ca-certificates \
 && { command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null \
      || apt-get install -y --no-install-recommends python3 python3-venv; } \
 && rm -rf /var/lib/apt/lists/*

WORKDIR ${APP_HOME}/app

# Dependencies first (this layer is rebuilt only when a requirements file or the Makefile changes).
COPY Makefile requirements.txt requirements-offline.txt requirements-dev.txt ./
RUN if [ -n "${TORCH_INDEX_URL}" ]; then export PIP_EXTRA_INDEX_URL="${TORCH_INDEX_URL}"; fi \
 && make install VENV=${APP_HOME}/venv

# Built-in datasets from Debian packages (tux-photos, fashion-mnist), unpacked, not installed. The Makefile
# leaves a note and carries on where the base's apt sources lack them.
RUN make data TLAB_BUILTIN_DIR=${APP_HOME}/builtin \
 && rm -rf /var/lib/apt/lists/*

COPY . .

# The code and venv stay root-owned and read-only to the app (compiled here, since it cannot write
# __pycache__); everything it writes goes to /data.
RUN ${APP_HOME}/venv/bin/python -m compileall -q app.py app_pages components tlcore \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin tlab \
 && mkdir -p /data \
 && chown tlab:tlab /data

ENV PATH=${APP_HOME}/venv/bin:${PATH} \
    TLAB_BUILTIN_DIR=${APP_HOME}/builtin \
    TLAB_DATA_DIR=/data \
    TLAB_EXPORT_CACHE_DIR=/data/cache/exports \
    TORCH_HOME=/data/cache/torch \
    HF_HOME=/data/cache/huggingface

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

# .streamlit/config.toml comes with the code (headless, upload limit, no file watcher).
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
