# Stand-in for the official postgres image, built by scripts/ensure-docker.sh only when that image
# is absent: Debian's PostgreSQL, with an entrypoint that honours the official image's
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and PGDATA, and its pg_isready health check.
# Debian bookworm's PostgreSQL is 15, whatever version the tag names (Simmer needs 13 or newer).
FROM simmer-standin/bookworm:12
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/lib/postgresql/15 /etc/postgresql \
 && mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
LABEL org.simmer.standin="postgres"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
