#!/usr/bin/env bash
# Starts a real Samba AD DC on loopback for the on-premises AD tests (tests/ad.rs).
#
#   tests/samba/setup.sh          # install if missing, provision once, start (or reuse), wait for LDAPS
#   tests/samba/stop.sh           # stop it (the provisioned domain stays for the next start)
#
# SAMBA_DIR (default /tmp/offboard-host-samba) holds the domain, its TLS files and `env` (shell-sourceable), the
# connection facts the tests read:
#   AD_URL (ldaps://127.0.0.1:636), AD_STARTTLS_URL / AD_PLAIN_URL (ldap://127.0.0.1:389),
#   AD_BIND_DN, AD_PASSWORD, AD_BASE_DN, AD_CA_FILE, AD_DISABLED_OU, AD_STAFF_OU, AD_ARCHIVE_OU.
#
# The domain is CONTOSO.TEST (base DN DC=contoso,DC=test) so that the seeded `leaver.synced`
# matches the demo cloud tenant's synced user (onPremisesDistinguishedName
# CN=Sam Synced,OU=Staff,DC=contoso,DC=test). The schema is extended with the few Exchange
# attributes the primitives use. Only the LDAP server runs (no DNS, SMB or KDC), with a
# test-only certificate whose names include 127.0.0.1, and simple binds are allowed over plain
# LDAP so that the tests can show that *we* refuse a password write in clear.
#
# Idempotent: a DC already running from SAMBA_DIR is reused; a provisioned but stopped one is
# restarted. Exit status is non-zero (and the tests fail) when the DC cannot start.
set -euo pipefail

SAMBA_DIR="${SAMBA_DIR:-/tmp/offboard-host-samba}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REALM=CONTOSO.TEST
DOMAIN=CONTOSO
BASE_DN="DC=contoso,DC=test"
SCHEMA_DN="CN=Schema,CN=Configuration,$BASE_DN"
ADMIN_PASS='Adm1n-Passw0rd!Samba'
HOST_IP=127.0.0.1
CONF="$SAMBA_DIR/dc/etc/smb.conf"
SAM="$SAMBA_DIR/dc/private/sam.ldb"
start_ns=$(date +%s%N)

log() { echo "samba-setup: $*" >&2; }
elapsed() { local ms=$((($(date +%s%N) - start_ns) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# 1. Packages (Debian). Non-interactive; `apt-get update` only when something is missing.
need=()
command -v samba >/dev/null || need+=(samba)
command -v samba-tool >/dev/null || need+=(samba-ad-dc samba-ad-provision)
[ -d /usr/share/samba/setup ] || need+=(samba-ad-provision)
command -v wbinfo >/dev/null || need+=(winbind)
command -v kinit >/dev/null || need+=(krb5-user)
command -v ldapsearch >/dev/null || need+=(ldap-utils)
command -v ldbmodify >/dev/null || need+=(ldb-tools)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "missing packages (${need[*]}) and not root: install them first"
        exit 1
    fi
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils \
        ldb-tools openssl >/dev/null
fi

write_env() {
    cat >"$SAMBA_DIR/env" <<EOF
AD_URL='ldaps://$HOST_IP:636'
AD_STARTTLS_URL='ldap://$HOST_IP:389'
AD_PLAIN_URL='ldap://$HOST_IP:389'
AD_BIND_DN='CN=Administrator,CN=Users,$BASE_DN'
AD_PASSWORD='$ADMIN_PASS'
AD_BASE_DN='$BASE_DN'
AD_CA_FILE='$SAMBA_DIR/tls/ca.pem'
AD_STAFF_OU='OU=Staff,$BASE_DN'
AD_DISABLED_OU='OU=Disabled Users,$BASE_DN'
AD_ARCHIVE_OU='OU=Archive,$BASE_DN'
AD_REALM='$REALM'
EOF
}

ldaps_up() {
    LDAPTLS_CACERT="$SAMBA_DIR/tls/ca.pem" ldapsearch -x -H "ldaps://$HOST_IP:636" -D "CN=Administrator,CN=Users,$BASE_DN" \
        -w "$ADMIN_PASS" -b "$BASE_DN" -s base dn >/dev/null 2>&1
}

running_pid() {
    local pid
    pid=$(cat "$SAMBA_DIR/samba.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q samba "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
    fi
}

if [ -n "$(running_pid)" ] && ldaps_up; then
    write_env
    log "reusing the DC running from $SAMBA_DIR (pid $(running_pid)); facts in $SAMBA_DIR/env"
    exit 0
fi

# 2. Provision once.
if [ ! -f "$SAMBA_DIR/provisioned" ]; then
    rm -rf "$SAMBA_DIR"
    mkdir -p "$SAMBA_DIR"/{tls,log,run}
    log "provisioning $REALM into $SAMBA_DIR/dc"
    samba-tool domain provision --targetdir="$SAMBA_DIR/dc" --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
        --dns-backend=NONE --adminpass="$ADMIN_PASS" --host-ip="$HOST_IP" --host-name=dc1 \
        --option="interfaces=lo" --option="bind interfaces only=yes" >"$SAMBA_DIR/log/provision.log" 2>&1 || {
        tail -20 "$SAMBA_DIR/log/provision.log" >&2
        exit 1
    }

    # Only the LDAP server; our own files for logs and pids; our TLS certificate; plain simple
    # binds allowed (lab only) so the tests can show our own refusal of a clear-text password write.
    sed -i "/^\[global\]/a\\
\tserver services = ldap\\
\tldap server require strong auth = no\\
\tlog file = $SAMBA_DIR/log/samba.log\\
\tpid directory = $SAMBA_DIR/run\\
\tntp signd socket directory = $SAMBA_DIR/run/ntp_signd\\
\twinbindd socket directory = $SAMBA_DIR/run/winbindd\\
\ttls enabled = yes\\
\ttls keyfile = $SAMBA_DIR/tls/key.pem\\
\ttls certfile = $SAMBA_DIR/tls/cert.pem\\
\ttls cafile = $SAMBA_DIR/tls/ca.pem" "$CONF"
    sed -i -e "/^\s*log file = \/var\/log/d" -e "/^\s*server services = s3fs/d" "$CONF"

    # A test CA and a server certificate naming the loopback address (rustls checks the name).
    (
        cd "$SAMBA_DIR/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=offboard-host test CA" \
            -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.contoso.test" -keyout key.pem -out req.pem 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:dc1.contoso.test,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >ext.cnf
        openssl x509 -req -in req.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile ext.cnf -out cert.pem 2>/dev/null
        chmod 600 key.pem ca.key
    )

    # Schema: the Exchange attributes the primitives use (OIDs from Microsoft's arc for
    # generated extensions, 1.2.840.113556.1.8000.2554; these are test-only definitions).
    attr() {
        printf 'dn: CN=%s,%s\nchangetype: add\nobjectClass: top\nobjectClass: attributeSchema\ncn: %s\n' "$1" "$SCHEMA_DN" "$1"
        printf 'attributeID: 1.2.840.113556.1.8000.2554.41953.1001.%s\nattributeSyntax: %s\noMSyntax: %s\n' "$2" "$4" "$5"
        printf 'isSingleValued: TRUE\nlDAPDisplayName: %s\nadminDisplayName: %s\nsearchFlags: 0\n\n' "$3" "$1"
    }
    {
        attr ms-Exch-Hide-From-Address-Lists 1 msExchHideFromAddressLists 2.5.5.8 1
        attr ms-Exch-Remote-Recipient-Type 2 msExchRemoteRecipientType 2.5.5.16 65
        attr ms-Exch-Recipient-Type-Details 3 msExchRecipientTypeDetails 2.5.5.16 65
        attr ms-Exch-Mail-Nickname 4 mailNickname 2.5.5.12 64
        attr ms-Exch-Target-Address 5 targetAddress 2.5.5.12 64
        printf 'dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-\n'
    } >"$SAMBA_DIR/schema-attrs.ldif"
    {
        printf 'dn: CN=User,%s\nchangetype: modify\nadd: mayContain\n' "$SCHEMA_DN"
        for a in msExchHideFromAddressLists msExchRemoteRecipientType msExchRecipientTypeDetails mailNickname targetAddress; do
            printf 'mayContain: %s\n' "$a"
        done
        printf -- '-\n\ndn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-\n'
    } >"$SAMBA_DIR/schema-class.ldif"
    # Two invocations: the new attributes are only known to the schema once the first commits.
    ldbmodify -H "$SAM" --option="dsdb:schema update allowed=true" "$SAMBA_DIR/schema-attrs.ldif" >/dev/null
    ldbmodify -H "$SAM" --option="dsdb:schema update allowed=true" "$SAMBA_DIR/schema-class.ldif" >/dev/null

    # Lab password policy: admin resets may repeat at once.
    samba-tool domain passwordsettings set -H "$SAM" --min-pwd-age=0 --history-length=0 >/dev/null

    # Seed: OUs, groups, users (see seed.ldif).
    sed "s/@BASE_DN@/$BASE_DN/g" "$HERE/seed.ldif" >"$SAMBA_DIR/seed.ldif"
    ldbmodify -H "$SAM" "$SAMBA_DIR/seed.ldif" >"$SAMBA_DIR/log/seed.log" 2>&1 || {
        cat "$SAMBA_DIR/log/seed.log" >&2
        exit 1
    }
    touch "$SAMBA_DIR/provisioned"
    log "provisioned and seeded in $(elapsed)s"
fi

# 3. Start (in the background, one process) and wait for LDAPS.
if [ -n "$(running_pid)" ]; then
    kill "$(running_pid)" 2>/dev/null || true
    sleep 1
fi
mkdir -p "$SAMBA_DIR/run" "$SAMBA_DIR/log"
nohup samba -s "$CONF" -i -M single --debug-stdout >"$SAMBA_DIR/log/samba.out" 2>&1 </dev/null &
echo $! >"$SAMBA_DIR/samba.pid"
for _ in $(seq 1 120); do
    if ldaps_up; then
        write_env
        log "DC up: ldaps://$HOST_IP:636, base $BASE_DN (pid $(cat "$SAMBA_DIR/samba.pid"), $(elapsed)s in all); facts in $SAMBA_DIR/env"
        exit 0
    fi
    if ! kill -0 "$(cat "$SAMBA_DIR/samba.pid")" 2>/dev/null; then
        log "samba exited during start:"
        tail -30 "$SAMBA_DIR/log/samba.out" >&2
        exit 1
    fi
    sleep 0.5
done
log "LDAPS did not answer within 60 s:"
tail -30 "$SAMBA_DIR/log/samba.out" >&2
exit 1
