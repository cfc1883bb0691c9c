#!/usr/bin/env bash
# proxy-kill: one of two origins is killed (SIGKILL) under a load of
# GETs and POSTs.  GETs never fail: those in flight on the dead origin
# are retried on the other one, later ones are balanced away from it.
# Only POSTs in flight on it at that moment may fail (502): a POST that
# was sent is never sent twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-kill

origin_start o1
origin_start o2
cat >"$T/c.yaml" <<EOF
workers: 2
log: { level: info, access: stderr }
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: "*" }
    pool: app
    retries: 2
pools:
  - name: app
    type: static
    eject: { failures: 2, backoff: 30s }
    servers: [127.0.0.1:$O1_PORT, 127.0.0.1:$O2_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

CLIENTS=4
pids=()
for c in $(seq $CLIENTS); do
	(
		for i in $(seq 40); do
			echo "GET $(curl -s -m 10 -o /dev/null -w '%{http_code}' \
			    "$URL/delay/50?c=$c&i=$i")"
		done >"$T/get.$c"
	) &
	pids+=($!)
	(
		for i in $(seq 40); do
			echo "POST $(curl -s -m 10 -o /dev/null -w '%{http_code}' \
			    -d "c=$c&i=$i" "$URL/delay/50")"
		done >"$T/post.$c"
	) &
	pids+=($!)
done
wait_for "load under way" 20 \
    bash -c "[ \$(cat $T/get.* $T/post.* 2>/dev/null | wc -l) -ge 40 ]"
kill -KILL "$(cat "$T/o2.pid")"
for p in "${pids[@]}"; do t_wait_exit "$p" 120; done

gets=$(cat "$T"/get.* | wc -l)
posts=$(cat "$T"/post.* | wc -l)
check_eq "every GET was answered" $((CLIENTS * 40)) "$gets"
check_eq "every POST was answered" $((CLIENTS * 40)) "$posts"
check_eq "no GET failed" 0 "$(grep -vc ' 200$' "$T"/get.* | awk -F: '{ n += $2 } END { print n }')"
bad=$(cat "$T"/post.* | grep -vc ' 200$')
check "at most the POSTs in flight at the kill failed ($bad of $posts)" \
    test "$bad" -le "$CLIENTS"
check "failed POSTs were 502s" \
    bash -c "! cat $T/post.* | grep -v ' 200\$' | grep -qv ' 502\$'"
check "the dead origin was ejected" grep -q "backend 127.0.0.1:$O2_PORT: ejected" \
    "$T/corral.err"
t_done
