# syntax=docker/dockerfile:1
# frontend: the static dashboard (dashboard/) on nginx, unprivileged, listening on 8080.
# Built by the Pulumi program (infra/images.py) from the repository root:
#   docker build -f docker/frontend.Dockerfile .

# --- check: the site and its server configuration, tested by nginx itself before anything is shipped ---------
FROM nginxinc/nginx-unprivileged:1.29.4-alpine AS check
COPY docker/nginx.conf /etc/nginx/nginx.conf
COPY dashboard/ /usr/share/nginx/html/
RUN nginx -t -q -e stderr -c /etc/nginx/nginx.conf

# --- runtime: the checked configuration and site only -------------------------------------------------------
FROM nginxinc/nginx-unprivileged:1.29.4-alpine
LABEL org.opencontainers.image.title="agentic-platform frontend" \
      org.opencontainers.image.description="the dashboard: static HTML, CSS and JavaScript"
COPY --from=check /etc/nginx/nginx.conf /etc/nginx/nginx.conf
COPY --from=check /usr/share/nginx/html/ /usr/share/nginx/html/
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
# nginx directly, not the image's entrypoint script: that edits files under /etc/nginx, which is read-only here.
ENTRYPOINT ["nginx", "-e", "stderr", "-g", "daemon off;"]
