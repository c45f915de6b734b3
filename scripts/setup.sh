#!/bin/sh
# Installs what Deployer's tests, example (and, with `bench`, benchmarks) need, when it is missing: system tools with apt-get
# (as root, or with sudo), npm packages with `npm ci`. Safe to run again: it only acts on a gap.
set -eu
cd "$(dirname "$0")/.."

# git: git sources; bzip2/zip/unzip/python3: archive fixtures; rsync: the upload benchmark's peer;
# procps: ps/pgrep for humans debugging a failed run; prometheus: the analysis provider's integration test;
# ssh, sshd, ip, unshare: the namespaced SSH hosts the fleet tests deploy to (test/hosts/hosts.mjs, as root;
# it installs what is still missing itself); GNU time: the CLI's peak RSS in the hook output test;
# nginx and haproxy: the nginx and HAProxy routers' integration tests (each test starts its own, on loopback)
# `setup.sh bench` also: wrk (load), capistrano (a fleet
# benchmark peer; Shipit, the other, is installed by the benchmark itself into bench/.peers/)
tools="git:git bzip2:bzip2 zip:zip unzip:unzip python3:python3 rsync:rsync prometheus:prometheus ssh:openssh-client sshd:openssh-server ip:iproute2 unshare:util-linux /usr/bin/time:time nginx:nginx-light haproxy:haproxy"
[ "${1:-}" = bench ] && tools="$tools wrk:wrk cap:capistrano"
missing=""
for tool in $tools; do
  bin=${tool%%:*}
  pkg=${tool#*:}
  command -v "$bin" >/dev/null 2>&1 || missing="$missing $pkg"
done
# Capistrano's net-ssh needs these ruby libraries for the bench hosts' ed25519 keys; no binary to look for
if [ "${1:-}" = bench ] && ! ruby -e "require 'ed25519'; require 'bcrypt_pbkdf'" >/dev/null 2>&1; then
  missing="$missing ruby-ed25519 ruby-bcrypt-pbkdf"
fi
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "installing system packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "warning: missing tools ($missing ) and no apt-get to install them" >&2
  fi
fi

# npm packages: install when node_modules is absent or older than the lockfile
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
