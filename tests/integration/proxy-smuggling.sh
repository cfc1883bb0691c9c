#!/usr/bin/env bash
# proxy-smuggling: request smuggling and malformed requests, each sent as
# raw bytes on its own connection and checked on both sides.  The client
# must get exactly one response with the status proxy/http.c's rules
# give (400, 501, 505, 413, 414, 431) and then see corral close the
# connection; the origin (which parses with the same strict parser and
# logs every request it served or refused) must have served nothing of
# the case, not the malformed request, not the request smuggled behind
# it, and must never have been sent a head it had to refuse.  Controls
# show the log works: a valid chunked POST arrives once with its length,
# and a request line inside a valid body arrives as body, not as a
# request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy-lib.bash"
t_init proxy-smuggling

origin_start o1
cat >"$T/c.yaml" <<EOF
workers: 2
listeners:
  - name: web
    listen: 127.0.0.1:0
    limits: { max_uri: 1KiB, max_header_size: 4KiB, max_headers: 20, max_body: 64KiB }
routes:
  - match: { host: "*" }
    pool: app
pools:
  - name: app
    type: static
    servers: [127.0.0.1:$O1_PORT]
EOF
corral_start c.yaml || t_done

# The client, one process for every case (python3 starts slowly here).
# Per line "NAME BYTES" on stdin, BYTES written with C escapes (\r, \n,
# \t, \0, \NNN octal), it sends the bytes to 127.0.0.1:PORT in one
# write, without half-closing (corral must close by itself), then reads
# until the close or 5 s.  It answers with one line: the status codes of
# the responses, comma-separated ("-" for none, "junk" for what is not
# a response), and how the connection ended: closed, reset or open (the
# deadline passed).  Response bodies go to DIR/NAME.body, in order.
cat >"$T/client.py" <<'EOF'
import codecs, socket, sys, time


def exchange(port, data, bodies):
    deadline = time.monotonic() + 5
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
    except OSError:
        pass    # closed on us early: what was answered is still readable
    buf, end = b"", "open"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            end = "reset"
            break
        if not b:
            end = "closed"
            break
        buf += b
    s.close()
    codes = []
    with open(bodies, "wb") as out:
        while buf:
            i = buf.find(b"\r\n\r\n")
            if i < 0 or not buf.startswith(b"HTTP/1."):
                codes.append("junk")
                break
            lines = buf[:i].split(b"\r\n")
            buf = buf[i + 4:]
            code = int(lines[0].split(b" ")[1])
            codes.append(str(code))
            hdrs = {}
            for l in lines[1:]:
                k, _, v = l.partition(b":")
                hdrs[k.strip().lower()] = v.strip().lower()
            if code < 200 or code in (204, 304):
                continue
            if hdrs.get(b"transfer-encoding") == b"chunked":
                while True:
                    j = buf.find(b"\r\n")
                    if j < 0:
                        break
                    n = int(buf[:j].split(b";")[0], 16)
                    out.write(buf[j + 2:j + 2 + n])
                    buf = buf[j + 2 + n + 2:]
                    if n == 0:
                        break   # our origin sends no trailers
            elif b"content-length" in hdrs:
                n = int(hdrs[b"content-length"])
                out.write(buf[:n])
                buf = buf[n:]
            else:
                out.write(buf)
                buf = b""
    return (",".join(codes) or "-") + " " + end


port, dir = int(sys.argv[1]), sys.argv[2]
for line in sys.stdin:
    name, _, text = line.rstrip("\n").partition(" ")
    try:
        data = codecs.escape_decode(text.encode("ascii"))[0]
        r = exchange(port, data, dir + "/" + name + ".body")
    except Exception as e:
        r = "client-error:" + type(e).__name__
    print(r, flush=True)
EOF
coproc CLIENT { python3 "$T/client.py" "$PORT" "$T"; }
T_PIDS+=("$CLIENT_PID")

# send NAME BYTES: BYTES (C escapes, see above) on a new connection; the
# client's summary goes to GOT, response bodies to $T/NAME.body.  The
# helpers here fork nothing: fork and exec are slow on this machine.
send() {
	GOT="no answer from the client"
	printf '%s %s\n' "$1" "$2" >&"${CLIENT[1]}"
	read -r -t 20 GOT <&"${CLIENT[0]}"
}

# served: the origin log's lines for requests it served into SERVED,
# and into REFUSED its REJECT lines for requests it refused, but for
# "connection closed in the body": corral may have sent the head of a
# request whose body then failed its checks, and closed that connection.
served() {
	local l
	SERVED=()
	REFUSED=()
	[ -f "$T/o1.log" ] || return 0
	while IFS= read -r l; do
		case $l in
		"REJECT "*" connection closed in the body") ;;
		REJECT*) REFUSED+=("$l") ;;
		*) SERVED+=("$l") ;;
		esac
	done <"$T/o1.log"
}

# absent TEXT: no line the origin served contains TEXT.
absent() {
	local l
	served
	for l in "${SERVED[@]}"; do
		[[ $l == *"$1"* ]] && return 1
	done
	return 0
}

# nserved PREFIX: how many lines the origin served start with PREFIX.
nserved() {
	local l n=0
	served
	for l in "${SERVED[@]}"; do
		[[ $l == "$1"* ]] && n=$((n + 1))
	done
	echo "$n"
}

# kase NAME: starts case NAME.  Its requests carry "case=NAME " in their
# targets; S is a request smuggled behind it (which must never be
# served), SLEN its length in bytes and SHEX that in hex.
kase() {
	n=$1
	S="GET /smuggled?case=$n HTTP/1.1\r\nHost: x\r\n\r\n"
	SLEN=$((41 + ${#n}))
	printf -v SHEX '%x' "$SLEN"
}

# reject STATUS BYTES: the client gets one response, STATUS, and then
# the close; the origin serves nothing at all, and is sent nothing it
# must refuse.
reject() {
	local want=$1 before refused
	served
	before=${#SERVED[@]}
	refused=${#REFUSED[@]}
	send "$n" "$2"
	check_eq "$n: client got $want, then the close" "$want closed" "$GOT"
	served
	check_eq "$n: origin served nothing" "$before" "${#SERVED[@]}"
	check_eq "$n: origin was sent nothing malformed" "$refused" \
	    "${#REFUSED[@]}"
	check "$n: origin saw no request of the case" absent "case=$n "
}

H='Host: x\r\n'

# Positive control: a chunked POST reaches the origin once, with its
# 11 de-chunked bytes, and the log says so.
kase control
send "$n" "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
check_eq "$n: valid chunked POST answered" "200 closed" "$GOT"
IFS= read -r body <"$T/$n.body"
check_eq "$n: body echoed" "hello world" "$body"
check_eq "$n: origin served it once, chunked, 11 bytes" 1 \
    "$(nserved "POST /echo?case=$n framing=chunked body=11 ")"

# --- Content-Length and Transfer-Encoding together -------------------
# The classic desyncs: one side frames by Content-Length, the other by
# chunked, and the smuggled request is body to one and a request to the
# other.  RFC 9112 §6.1 lets a server refuse such a message outright;
# corral does (400), whichever field comes first, and closes.
kase cl-te
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: $((5 + SLEN))\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S"
kase te-cl
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n$SHEX\r\n$S\r\n0\r\n\r\n"
kase cl0-te
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n$SHEX\r\n$S\r\n0\r\n\r\n"

# --- Transfer-Encoding variants --------------------------------------
# Anything but one final "chunked" is refused: 400 when the framing
# cannot be known, 501 for a well-formed coding corral lacks.
kase te-te-chunked
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S"
kase te-chunked-identity
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n$S"
kase te-xchunked
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n$S"
kase te-chunked-gzip
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n$S"
kase te-gzip-chunked
reject 501 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$S"
kase te-gzip-te-chunked
reject 501 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S"
kase te-space-colon
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n$S"
kase te-tab-colon
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n$S"
kase te-http10
reject 400 "POST /echo?case=$n HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S"

# --- Line syntax: obs-fold, bare LF, bare CR, NUL --------------------
kase obs-fold
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 5\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n$S"
kase obs-fold-tab
reject 400 "GET /echo?case=$n HTTP/1.1\r\n${H}X-Pad: a\r\n\tb\r\n\r\n$S"
kase bare-lf
reject 400 "GET /echo?case=$n HTTP/1.1\n${H}\n$S"
kase bare-lf-field
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}X-Pad: a\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$S"
kase bare-cr
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}X-Pad: a\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$S"
kase nul-value
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\0\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$S"

# --- Content-Length values -------------------------------------------
kase cl-cl
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: $SLEN\r\n\r\n$S"
kase cl-same-twice
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 0\r\n\r\n$S"
kase cl-list
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello$S"
kase cl-plus
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello$S"
kase cl-hex
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello$S"
kase cl-neg
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n$S"
kase cl-empty
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: \r\n\r\n$S"
kase cl-inner-space
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 1 0\r\n\r\nhello12345$S"
# 2^64 + 5: 5 if it wrapped.
kase cl-overflow
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 18446744073709551621\r\n\r\nhello$S"
# 19 digits: over what the parser takes (below 10^18).
kase cl-19-digits
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 1000000000000000005\r\n\r\nhello$S"
# Well-formed but over the listener's max_body: 413 before any byte of
# it goes upstream.
kase cl-over-max-body
reject 413 "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: 999999999999999999\r\n\r\nhello$S"

# --- Chunked framing -------------------------------------------------
# The heads are valid: these fail in the body, after corral may have
# sent the head upstream, and the origin must still serve nothing.
# ffffffffffffffffff (72 bits), and 2^64 + 5 (5 if it wrapped).
kase chunk-overflow
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n$S"
kase chunk-wrap
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n$S"
kase chunk-junk
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n$S"
kase chunk-0x
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n$S"
kase chunk-negative
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n$S"
kase chunk-space-junk
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n$S"
# Chunk data not followed by CRLF: the next size line would start early.
kase chunk-no-crlf
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n$S"
# The last chunk without the empty line after it: what follows is a
# trailer section, and a request line is no field line.
kase chunk-last-no-crlf
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n$S"
kase chunk-lf-only
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n$S"
kase chunk-bare-cr
reject 400 "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\rX0\r\n\r\n$S"

# --- Host ------------------------------------------------------------
kase host-twice
reject 400 "GET /echo?case=$n HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n$S"
kase host-missing
reject 400 "GET /echo?case=$n HTTP/1.1\r\nX-Pad: a\r\n\r\n$S"

# --- Request line ----------------------------------------------------
kase target-space
reject 400 "GET /echo?case=$n /smuggled?case=$n HTTP/1.1\r\n${H}\r\n$S"
kase target-ctl
reject 400 "GET /echo?case=$n\001x HTTP/1.1\r\n${H}\r\n$S"
kase target-del
reject 400 "GET /echo?case=$n\177x HTTP/1.1\r\n${H}\r\n$S"
kase target-tab
reject 400 "GET /echo?case=$n\tHTTP/1.1\r\n${H}\r\n$S"
kase target-8bit
reject 400 "GET /echo?case=$n\351 HTTP/1.1\r\n${H}\r\n$S"
kase version-2
reject 505 "GET /echo?case=$n HTTP/2.0\r\n${H}\r\n$S"
kase version-1-2
reject 505 "GET /echo?case=$n HTTP/1.2\r\n${H}\r\n$S"
kase version-junk
reject 400 "GET /echo?case=$n HTTP/1.1x\r\n${H}\r\n$S"
kase method-invalid
reject 400 "G(T /echo?case=$n HTTP/1.1\r\n${H}\r\n$S"
kase method-empty
reject 400 " /echo?case=$n HTTP/1.1\r\n${H}\r\n$S"
# A token, but no method corral (llhttp) knows: 501.
kase method-unknown
reject 501 "FROB /echo?case=$n HTTP/1.1\r\n${H}\r\n$S"

# --- Limits, with a request behind them ------------------------------
printf -v long '%1100s' ''
long=${long// /a}
kase uri-too-long
reject 414 "GET /echo?case=$n&$long HTTP/1.1\r\n${H}\r\n$S"
hs=""
for i in {1..21}; do hs+="X-H$i: $i\r\n"; done
kase too-many-fields
reject 431 "GET /echo?case=$n HTTP/1.1\r\n${H}${hs}\r\n$S"
kase fields-too-large
reject 431 "GET /echo?case=$n HTTP/1.1\r\n${H}X-Big: $long$long$long$long\r\n\r\n$S"

# --- Pipelining ------------------------------------------------------
# A valid request behind a malformed one is not served: the connection
# ends with the error.
kase bad-then-good
reject 400 "GET /echo?case=$n HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\nGET /status/202?case=$n HTTP/1.1\r\n${H}\r\n"

# A request line inside a valid body is body: the origin serves the POST
# (with all of its body) and the request after it, never the one in the
# body.  First with Content-Length, then chunked.
kase cl-body-prefix
send "$n" "POST /echo?case=$n HTTP/1.1\r\n${H}Content-Length: $SLEN\r\n\r\n${S}GET /status/202?case=$n-next HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
check_eq "$n: both requests answered, in order" "200,202 closed" "$GOT"
check_eq "$n: the request line came back as body" \
    "GET /smuggled?case=$n HTTP/1.1" "$(head -n 1 "$T/$n.body" | tr -d '\r')"
check_eq "$n: origin got the POST with its $SLEN-byte body" 1 \
    "$(nserved "POST /echo?case=$n framing=length body=$SLEN ")"
check_eq "$n: origin got the request after it" 1 \
    "$(nserved "GET /status/202?case=$n-next framing=none ")"
check "$n: the body's request line never served" absent "/smuggled?case=$n "

kase chunked-body-prefix
send "$n" "POST /echo?case=$n HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n$SHEX\r\n$S\r\n0\r\n\r\nGET /status/202?case=$n-next HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
check_eq "$n: both requests answered, in order" "200,202 closed" "$GOT"
check_eq "$n: the request line came back as body" \
    "GET /smuggled?case=$n HTTP/1.1" "$(head -n 1 "$T/$n.body" | tr -d '\r')"
check_eq "$n: origin got the POST with its $SLEN-byte body" 1 \
    "$(nserved "POST /echo?case=$n framing=chunked body=$SLEN ")"
check_eq "$n: origin got the request after it" 1 \
    "$(nserved "GET /status/202?case=$n-next framing=none ")"
check "$n: the body's request line never served" absent "/smuggled?case=$n "

# --- Afterwards ------------------------------------------------------
# Everything the origin ever served, now that every connection above
# has ended: the controls, nothing else.
want=$(printf '%s\n' \
    "GET /status/202?case=cl-body-prefix-next" \
    "GET /status/202?case=chunked-body-prefix-next" \
    "POST /echo?case=chunked-body-prefix" \
    "POST /echo?case=cl-body-prefix" \
    "POST /echo?case=control" | sort)
check_eq "origin served the controls and nothing else" "$want" \
    "$(grep -v '^REJECT' "$T/o1.log" | awk '{ print $1, $2 }' | sort)"
check "no smuggled request anywhere in the origin log" absent smuggled
served
check_eq "origin was never sent a request it had to refuse" "" \
    "${REFUSED[*]}"
check "corral still running" kill -0 "$CORRAL_PID"
kase after
send "$n" "GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
check_eq "corral still serving" "200 closed" "$GOT"
t_done
