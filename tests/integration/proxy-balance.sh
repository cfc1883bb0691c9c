#!/usr/bin/env bash
# proxy-balance: three origins.  Round robin splits 30 requests evenly
# (one worker, so one balancer state); hashing on a header keeps each
# user on one origin while different users spread out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-balance

origin_start o1
origin_start o2
origin_start o3
cat >"$T/c.yaml" <<EOF
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:0
routes:
  - match: { host: sticky.test }
    pool: sticky
  - match: { host: "*" }
    pool: rr
pools:
  - name: rr
    type: static
    balance: round_robin
    servers: [127.0.0.1:$O1_PORT, 127.0.0.1:$O2_PORT, 127.0.0.1:$O3_PORT]
  - name: sticky
    type: static
    balance: hash
    hash: { key: header, header: X-User }
    servers: [127.0.0.1:$O1_PORT, 127.0.0.1:$O2_PORT, 127.0.0.1:$O3_PORT]
EOF
corral_start c.yaml
URL=http://127.0.0.1:$PORT

for i in $(seq 30); do curl -s -o /dev/null "$URL/?rr=$i"; done
for o in o1 o2 o3; do
	check_eq "round robin: $o got a third" 10 "$(lines "$T/$o.log" '^GET /?rr=')"
done

for u in alice bob carol; do
	got=$(for i in $(seq 10); do
		curl -s -H 'Host: sticky.test' -H "X-User: $u" "$URL/"
	done | sort -u | wc -l)
	check_eq "hash: $u always lands on the same origin" 1 "$got"
done
got=$(for i in $(seq 30); do
	curl -s -H 'Host: sticky.test' -H "X-User: user$i" "$URL/"
done | sort -u | wc -l)
check "hash: 30 users spread over more than one origin ($got)" \
    test "$got" -ge 2
t_done
