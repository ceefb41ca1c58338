# Firestream's container image, built from source in two stages:
#   docker build -t firestream:0.1.0 .        (or podman build, buildah bud)
# `firestream image build` makes the same image from a binary you already built, with no
# compiler in the loop (docs/deploy.md).

# Build: the release binary, statically linked with the Swift runtime.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev libsnappy-dev liblz4-dev libzstd-dev zlib1g-dev pkg-config python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --product firestream --static-swift-stdlib \
    && install -D -m 0755 .build/release/firestream /out/usr/local/bin/firestream
# Plotly.js for the dashboard, from the PyPI package plotly (wheel unpacked, nothing installed).
ADD https://files.pythonhosted.org/packages/py3/p/plotly/plotly-6.3.0-py3-none-any.whl /tmp/plotly.whl
RUN python3 -m zipfile -e /tmp/plotly.whl /tmp/plotly \
    && install -D -m 0644 /tmp/plotly/plotly/package_data/plotly.min.js /out/usr/share/firestream/plotly.min.js

# Run: Debian slim with the C libraries the binary links, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libsnappy1v5 liblz4-1 libzstd1 zlib1g libcurl4 libxml2 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/firestream --create-home --shell /usr/sbin/nologin firestream
COPY --from=build /out/ /
ENV FIRESTREAM_PLOTLY_JS=/usr/share/firestream/plotly.min.js
USER 10001:10001
WORKDIR /var/lib/firestream
EXPOSE 8000 9092
ENTRYPOINT ["/usr/local/bin/firestream"]
CMD ["up", "--host", "0.0.0.0", "--data-dir", "/var/lib/firestream"]
