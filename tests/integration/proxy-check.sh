#!/usr/bin/env bash
# proxy-check: the command line.  corral -t checks a file: exit 0 for a
# good one, 2 with every error as FILE:LINE:COL: key.path: message for a
# bad one (schema, references, files that cannot be opened); -h prints
# the usage; bad arguments exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-check

cat >"$T/good.yaml" <<EOF
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:9, unix:/run/app.sock]
EOF
cat >"$T/bad.yaml" <<EOF
workers: two
listeners:
  - name: web
    listen: 127.0.0.1:0
    tls: { cert: $T/missing.pem, key: $T/missing.key }
routes:
  - match: { host: "*" }
    pool: helo
pools:
  - name: app
    type: static
    servers: [127.0.0.1:9]
EOF

"$BUILD/corral" -t -c "$T/good.yaml" >"$T/good.out" 2>&1
check_eq "-t on a good file exits 0" 0 "$?"
check "and says so" grep -q 'configuration ok' "$T/good.out"

"$BUILD/corral" -t -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check_eq "-t on a bad file exits 2" 2 "$?"
cat "$T/bad.out"
check "the schema error has file:line:col and the key path" \
    grep -Eq "^$T/bad.yaml:1:[0-9]+: workers: " "$T/bad.out"
check "the bad reference is named" \
    grep -Eq "^$T/bad.yaml:8:[0-9]+: routes\[0\]\.pool: no pool named \"helo\"" \
    "$T/bad.out"
check "no 'configuration ok'" bash -c "! grep -q 'configuration ok' $T/bad.out"

# The schema is fine, but a certificate cannot be read.
sed -e 's/^workers: two$/workers: 1/' -e 's/pool: helo/pool: app/' \
    "$T/bad.yaml" >"$T/nocert.yaml"
"$BUILD/corral" -t -c "$T/nocert.yaml" >"$T/nocert.out" 2>&1
check_eq "-t with an unreadable certificate exits 2" 2 "$?"
check "the certificate's key is named" \
    grep -q "nocert.yaml:5:[0-9]*: listeners\[0\]\.tls\.cert" "$T/nocert.out"

"$BUILD/corral" -t -c "$T/nothere.yaml" >"$T/nofile.out" 2>&1
check_eq "-t on a missing file exits 2" 2 "$?"
check "the missing file is named" grep -q "nothere.yaml" "$T/nofile.out"

"$BUILD/corral" -h >"$T/h.out" 2>&1
check_eq "-h exits 0" 0 "$?"
check "-h prints the usage" grep -q '^usage: corral' "$T/h.out"
"$BUILD/corral" -x >/dev/null 2>&1
check_eq "an unknown option exits 2" 2 "$?"
"$BUILD/corral" >/dev/null 2>&1
check_eq "no -c exits 2" 2 "$?"
"$BUILD/corral" -c "$T/good.yaml" extra >/dev/null 2>&1
check_eq "a stray argument exits 2" 2 "$?"
# Serving with a bad file fails the same way, before binding anything.
"$BUILD/corral" -c "$T/bad.yaml" >/dev/null 2>&1
check_eq "serving a bad file exits 2" 2 "$?"
t_done
