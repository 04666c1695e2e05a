# Stand-in for the official nginx image, built by scripts/ensure-docker.sh only when that image is
# absent: Debian's nginx, reading /etc/nginx/conf.d/*.conf as the official image does, in the
# foreground, its logs to stdout and stderr.
FROM simmer-standin/bookworm:12
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
LABEL org.simmer.standin="nginx"
CMD ["nginx", "-g", "daemon off;"]
