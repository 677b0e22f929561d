# Dockerfile - printgate in a container: built in one stage, run as an
# unprivileged user in another, with Ghostscript, bubblewrap and prlimit
# for the converter.
#
#   docker build -t printgate .
#   docker run -d --name printgate -p 8631:8631 -v printgate-data:/var/lib/printgate printgate
#
# The image listens on 0.0.0.0:8631 (packaging/container.yaml); mount your
# own configuration over /etc/printgate/printgate.yaml. The data volume
# holds the database, the keys and the spool: back it up with
# `docker exec -i printgate printgate backup /var/lib/printgate/backup.age`
# (README, "Backup and restore").

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -tags nomsgpack -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
	-o /out/printgate ./cmd/printgate

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ghostscript bubblewrap util-linux fonts-ipafont-gothic ca-certificates tini \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --system printgate \
	&& useradd --system --gid printgate --home-dir /var/lib/printgate --shell /usr/sbin/nologin printgate \
	&& install -d -m 0700 -o printgate -g printgate /var/lib/printgate \
	&& install -d -m 0750 -o root -g printgate /etc/printgate
COPY --from=build /out/printgate /usr/bin/printgate
COPY --chown=root:printgate --chmod=0640 packaging/container.yaml /etc/printgate/printgate.yaml
USER printgate
ENV PRINTGATE_DATA_DIR=/var/lib/printgate
VOLUME /var/lib/printgate
EXPOSE 8631
# tini is the container's first process: a converter's namespace stopped
# at a limit can leave its first process to the container's init to
# reap, which printgate, were it PID 1, would never do.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/printgate"]
CMD ["serve", "--config", "/etc/printgate/printgate.yaml"]
