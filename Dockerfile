# The example as a container holding one file: the fully static (musl) binary, FROM scratch.
# No libc, no shell, no Python, no /tmp: the stdlib is imported from the binary's memory
# and nothing is written at run time, so a read-only root filesystem works
# (docker run --read-only). Docker provides /etc/hosts, so `-host localhost` works too.
#
#   docker build -t rpyc-example .
#   docker run --rm --read-only --network host rpyc-example -host 127.0.0.1 -port 18812
#
# tests/e2e/static-chroot.sh runs this final stage's exact content (the binary alone, in an
# empty read-only chroot) and checks that this file still copies that binary.

FROM golang:1.26-bookworm AS go

FROM rust:1-bookworm AS build
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        musl-tools xz-utils make binutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The host build first: its CPython is the build Python of the musl cross build.
RUN scripts/build.sh && scripts/build.sh x86_64-unknown-linux-musl \
    && strip -o /rpyc-example bin/rpyc-example-linux-amd64-musl

FROM scratch
COPY --from=build /rpyc-example /rpyc-example
ENTRYPOINT ["/rpyc-example"]
