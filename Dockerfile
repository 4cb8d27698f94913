# ticktap's container image: a Debian 12 build stage, then a slim runtime with only the
# libraries the binary links and the DPDK drivers it loads. `make image` builds it (podman or
# buildah; BASE defaults to a Debian 12 minbase image, see tests/image/run.sh for an offline
# one made by mmdebstrap).
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        build-essential pkg-config clang libpcap-dev libjansson-dev libyaml-dev libxxhash-dev \
        zlib1g-dev librdkafka-dev libbpf-dev libxdp-dev bpftool libelf-dev libmicrohttpd-dev \
        libcurl4-openssl-dev libdpdk-dev libjs-chart.js python3 ca-certificates > /dev/null
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" PGO=0 BUILD=/out CFLAGS="-O2 -g -flto=auto" /out/ticktap > /dev/null \
    && strip --strip-debug /out/ticktap \
    # the runtime needs the packages of the libraries the binary links, and DPDK's drivers
    && ldd /out/ticktap | awk '/=> \//{print $3}' | xargs -r realpath | xargs -r dpkg -S \
       | cut -d: -f1 | sort -u > /out/runtime-packages \
    && printf '%s\n' librte-net-af-xdp23 librte-net-af-packet23 librte-net-pcap23 \
       librte-net-ring23 librte-net-null23 librte-mempool-ring23 ca-certificates \
       >> /out/runtime-packages

FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ticktap" \
      org.opencontainers.image.description="eBPF/XDP-assisted packet capture and analysis for trading networks" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/ticktap/ticktap" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update -qq \
    && xargs -a /tmp/runtime-packages apt-get install -y -qq --no-install-recommends > /dev/null \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ticktap
COPY --from=build /out/ticktap /usr/bin/ticktap
COPY --from=build /out/bpf/ticktap.bpf.o /usr/lib/ticktap/ticktap.bpf.o
COPY examples/ticktap.yaml /etc/ticktap/ticktap.yaml
COPY schemas/ /usr/share/ticktap/schemas/
# offline analysis and enrich run as this user; live capture needs capabilities the
# DaemonSet grants (helm/ticktap/values.yaml says which and why)
USER 10001
WORKDIR /tmp
ENTRYPOINT ["/usr/bin/ticktap"]
CMD ["--help"]
