#!/usr/bin/env bash
# Start (or stop) the PostgreSQL, Redis, Dovecot (IMAP), OpenID provider and slapd (LDAP) servers the test suite
# uses, on loopback ports of NixFlow's own, with their data in a throwaway folder.
#   source scripts/services.sh start   # exports NIXFLOW_TEST_POSTGRES_URL, NIXFLOW_TEST_REDIS_URL, NIXFLOW_TEST_IMAP_URL,
#                                      # NIXFLOW_TEST_OIDC_URL, NIXFLOW_TEST_IMAP_OAUTH_URL, NIXFLOW_TEST_LDAP_URL,
#                                      # NIXFLOW_TEST_LDAPS_URL, NIXFLOW_TEST_LDAP_CA
#   bash scripts/services.sh stop
set -euo pipefail

NIXFLOW_PG_PORT="${NIXFLOW_PG_PORT:-54329}"
NIXFLOW_REDIS_PORT="${NIXFLOW_REDIS_PORT:-63799}"
NIXFLOW_IMAP_PORT="${NIXFLOW_IMAP_PORT:-14339}"
NIXFLOW_OIDC_PORT="${NIXFLOW_OIDC_PORT:-19440}"
NIXFLOW_LDAP_PORT="${NIXFLOW_LDAP_PORT:-38939}"
NIXFLOW_LDAPS_PORT="${NIXFLOW_LDAPS_PORT:-63639}"
NIXFLOW_SERVICES_DIR="${NIXFLOW_SERVICES_DIR:-/tmp/nixflow-test-services}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local data="$NIXFLOW_SERVICES_DIR/pg"
  if as_postgres "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$NIXFLOW_PG_PORT" -q 2>/dev/null; then return; fi
  mkdir -p "$NIXFLOW_SERVICES_DIR"
  [ "$(id -u)" = "0" ] && chown postgres "$NIXFLOW_SERVICES_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$data.log" -w \
    -o "-h 127.0.0.1 -p $NIXFLOW_PG_PORT -k $NIXFLOW_SERVICES_DIR -c fsync=off -c max_connections=300" start >/dev/null
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  mkdir -p "$NIXFLOW_SERVICES_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$NIXFLOW_REDIS_PORT" --dir "$NIXFLOW_SERVICES_DIR/redis" \
    --save "" --appendonly yes --daemonize yes --logfile "$NIXFLOW_SERVICES_DIR/redis.log"
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis did not start" >&2; return 1
}

# Dovecot, unprivileged: as the `dovecot` user when started by root, else as whoever starts it; throwaway users
# in a passwd-file (`nixflow`, password `nixflow-imap`; `nixflow-oauth`, whose password only fills its mailbox),
# mail in Maildir under the services folder. XOAUTH2 and OAUTHBEARER go to the `oauth2` passdb, which asks the
# OpenID provider below (as its client `dovecot`) to introspect the token: `nixflow-oauth` signs in with a token
# granted by the provider's account of that name.
OIDC_INTROSPECTION_SECRET="nixflow-dovecot-introspection"
DOVECOT_DIR="$NIXFLOW_SERVICES_DIR/dovecot"
as_dovecot() {
  if [ "$(id -u)" = "0" ]; then runuser -u dovecot -- "$@"; else "$@"; fi
}

start_dovecot() {
  [ -x /usr/sbin/dovecot ] || return 0
  if [ -f "$DOVECOT_DIR/run/master.pid" ] && kill -0 "$(cat "$DOVECOT_DIR/run/master.pid")" 2>/dev/null; then return; fi
  local user group uid gid
  if [ "$(id -u)" = "0" ]; then user=dovecot; else user="$(id -un)"; fi
  group="$(id -gn "$user")"; uid="$(id -u "$user")"; gid="$(id -g "$user")"
  mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" "$DOVECOT_DIR/mail" "$DOVECOT_DIR/home"
  printf '%s\n' "nixflow:{PLAIN}nixflow-imap::::::" "nixflow-oauth:{PLAIN}nixflow-oauth-imap::::::" > "$DOVECOT_DIR/passwd"
  cat > "$DOVECOT_DIR/oauth2.conf.ext" <<CONF
introspection_mode = post
introspection_url = http://dovecot:$OIDC_INTROSPECTION_SECRET@127.0.0.1:$NIXFLOW_OIDC_PORT/token/introspection
force_introspection = yes
username_attribute = sub
active_attribute = active
active_value = true
CONF
  cat > "$DOVECOT_DIR/dovecot.conf" <<CONF
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
instance_name = nixflow-test-dovecot
log_path = $DOVECOT_DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:$DOVECOT_DIR/mail/%u
first_valid_uid = 0
first_valid_gid = 0
default_internal_user = $user
default_internal_group = $group
default_login_user = $user
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $DOVECOT_DIR/passwd
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $DOVECOT_DIR/oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$DOVECOT_DIR/home/%u
}
# No authentication penalty (2 s, doubling, per address): the tests' refused sign-ins from 127.0.0.1 would slow
# another test's sign-in running beside them.
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $NIXFLOW_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
  [ "$(id -u)" = "0" ] && chown -R "$user:$group" "$DOVECOT_DIR"
  as_dovecot /usr/sbin/dovecot -c "$DOVECOT_DIR/dovecot.conf"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NIXFLOW_IMAP_PORT") 2>/dev/null && return
    sleep 0.1
  done
  echo "dovecot did not start (see $DOVECOT_DIR/dovecot.log)" >&2; return 1
}

# The OpenID provider (tests/idp/provider.mjs: oidc-provider run by node; `npm ci` in tests/idp installs it).
IDP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/idp" && pwd)"
oidc_up() {
  (exec 3<>"/dev/tcp/127.0.0.1/$NIXFLOW_OIDC_PORT") 2>/dev/null
}

start_oidc() {
  command -v node >/dev/null && [ -d "$IDP_DIR/node_modules/oidc-provider" ] || return 0
  if oidc_up; then return; fi
  mkdir -p "$NIXFLOW_SERVICES_DIR"
  NIXFLOW_OIDC_PORT="$NIXFLOW_OIDC_PORT" NIXFLOW_OIDC_INTROSPECTION_SECRET="$OIDC_INTROSPECTION_SECRET" setsid nohup node "$IDP_DIR/provider.mjs" \
    >"$NIXFLOW_SERVICES_DIR/oidc.log" 2>&1 </dev/null &
  echo $! >"$NIXFLOW_SERVICES_DIR/oidc.pid"
  for _ in $(seq 100); do oidc_up && return; sleep 0.1; done
  echo "the OpenID provider did not start (see $NIXFLOW_SERVICES_DIR/oidc.log)" >&2; return 1
}

# slapd, unprivileged (as `openldap` when started by root): a directory of our own, dc=nixflow,dc=test, loaded
# fresh at each start with slapadd, plain LDAP (StartTLS offered) on NIXFLOW_LDAP_PORT and LDAPS on
# NIXFLOW_LDAPS_PORT, with a self-signed certificate made at start (the tests trust it as their CA file).
# Accounts: the manager cn=admin,dc=nixflow,dc=test (password nixflow-ldap-admin, the tests' writer), the search
# account cn=nixflow,ou=services,dc=nixflow,dc=test (nixflow-ldap-search, reads everything but passwords), people
# uid=alice (agent group) and uid=bob (admin group) under ou=people, password nixflow-ldap-user; groups
# cn=helpdesk-agents and cn=helpdesk-admins (groupOfNames) under ou=groups.
LDAP_DIR="$NIXFLOW_SERVICES_DIR/slapd"
LDAP_BASE="dc=nixflow,dc=test"

ldap_up() { (exec 3<>"/dev/tcp/127.0.0.1/$NIXFLOW_LDAP_PORT") 2>/dev/null; }

start_slapd() {
  [ -x /usr/sbin/slapd ] || return 0
  if [ -f "$LDAP_DIR/slapd.pid" ] && kill -0 "$(cat "$LDAP_DIR/slapd.pid")" 2>/dev/null; then return; fi
  rm -rf "$LDAP_DIR"
  mkdir -p "$LDAP_DIR/data" "$LDAP_DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$LDAP_DIR/tls/server.key" -out "$LDAP_DIR/tls/server.crt" 2>/dev/null
  cat > "$LDAP_DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $LDAP_DIR/slapd.pid
argsfile $LDAP_DIR/slapd.args
TLSCertificateFile $LDAP_DIR/tls/server.crt
TLSCertificateKeyFile $LDAP_DIR/tls/server.key
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=nixflow,ou=services,$LDAP_BASE" read
  by self read
  by * none
database mdb
maxsize 67108864
suffix "$LDAP_BASE"
rootdn "cn=admin,$LDAP_BASE"
rootpw nixflow-ldap-admin
directory $LDAP_DIR/data
index objectClass,uid,mail,member eq
CONF
  local user_pw search_pw
  user_pw="$(slappasswd -s nixflow-ldap-user)"
  search_pw="$(slappasswd -s nixflow-ldap-search)"
  cat > "$LDAP_DIR/seed.ldif" <<LDIF
dn: $LDAP_BASE
objectClass: dcObject
objectClass: organization
dc: nixflow
o: NixFlow tests

dn: ou=people,$LDAP_BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$LDAP_BASE
objectClass: organizationalUnit
ou: groups

dn: ou=services,$LDAP_BASE
objectClass: organizationalUnit
ou: services

dn: cn=nixflow,ou=services,$LDAP_BASE
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: nixflow
userPassword: $search_pw

dn: uid=alice,ou=people,$LDAP_BASE
objectClass: inetOrgPerson
uid: alice
cn: Alice Agent
sn: Agent
mail: alice@nixflow.test
userPassword: $user_pw

dn: uid=bob,ou=people,$LDAP_BASE
objectClass: inetOrgPerson
uid: bob
cn: Bob Admin
sn: Admin
mail: bob@nixflow.test
userPassword: $user_pw

dn: cn=helpdesk-agents,ou=groups,$LDAP_BASE
objectClass: groupOfNames
cn: helpdesk-agents
member: uid=alice,ou=people,$LDAP_BASE

dn: cn=helpdesk-admins,ou=groups,$LDAP_BASE
objectClass: groupOfNames
cn: helpdesk-admins
member: uid=bob,ou=people,$LDAP_BASE
LDIF
  /usr/sbin/slapadd -q -f "$LDAP_DIR/slapd.conf" -l "$LDAP_DIR/seed.ldif"
  local as=()
  if [ "$(id -u)" = "0" ]; then chown -R openldap:openldap "$LDAP_DIR"; as=(-u openldap -g openldap); fi
  /usr/sbin/slapd "${as[@]}" -f "$LDAP_DIR/slapd.conf" \
    -h "ldap://127.0.0.1:$NIXFLOW_LDAP_PORT/ ldaps://127.0.0.1:$NIXFLOW_LDAPS_PORT/"
  for _ in $(seq 50); do ldap_up && return; sleep 0.1; done
  echo "slapd did not start" >&2; return 1
}

case "${1:-start}" in
  start)
    start_postgres
    start_redis
    start_dovecot
    start_oidc
    if [ -d "$IDP_DIR/node_modules/oidc-provider" ]; then
      export NIXFLOW_TEST_OIDC_URL="http://127.0.0.1:$NIXFLOW_OIDC_PORT"
    fi
    start_slapd
    if [ -x /usr/sbin/slapd ]; then
      export NIXFLOW_TEST_LDAP_URL="ldap://127.0.0.1:$NIXFLOW_LDAP_PORT"
      export NIXFLOW_TEST_LDAPS_URL="ldaps://127.0.0.1:$NIXFLOW_LDAPS_PORT"
      export NIXFLOW_TEST_LDAP_CA="$LDAP_DIR/tls/server.crt"
    fi
    if [ -x /usr/sbin/dovecot ]; then
      export NIXFLOW_TEST_IMAP_URL="imap://nixflow:nixflow-imap@127.0.0.1:$NIXFLOW_IMAP_PORT/INBOX"
      export NIXFLOW_TEST_IMAP_OAUTH_URL="imap://nixflow-oauth:nixflow-oauth-imap@127.0.0.1:$NIXFLOW_IMAP_PORT/INBOX"
    fi
    export NIXFLOW_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$NIXFLOW_PG_PORT/postgres"
    export NIXFLOW_TEST_REDIS_URL="redis://127.0.0.1:$NIXFLOW_REDIS_PORT/0"
    export NIXFLOW_TEST_REDIS_PORT="$NIXFLOW_REDIS_PORT"
    export NIXFLOW_TEST_PG_PORT="$NIXFLOW_PG_PORT"
    export NIXFLOW_TEST_SERVICES_DIR="$NIXFLOW_SERVICES_DIR"
    ;;
  stop)
    as_postgres "$PG_BIN/pg_ctl" -D "$NIXFLOW_SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1 || true
    redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if [ -f "$DOVECOT_DIR/run/master.pid" ]; then kill "$(cat "$DOVECOT_DIR/run/master.pid")" 2>/dev/null || true; fi
    if [ -f "$NIXFLOW_SERVICES_DIR/oidc.pid" ]; then kill "$(cat "$NIXFLOW_SERVICES_DIR/oidc.pid")" 2>/dev/null || true; fi
    if [ -f "$LDAP_DIR/slapd.pid" ]; then kill "$(cat "$LDAP_DIR/slapd.pid")" 2>/dev/null || true; fi
    ;;
esac
