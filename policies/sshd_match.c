/* sshd_match.c — sshd's Match criteria evaluated for one connection, as
 * `sshd -T -C user=…,host=…,addr=…,laddr=…,lport=…` does (OpenSSH
 * servconf.c match_cfg_line, match.c match_pattern_list, addrmatch.c).
 *
 * Criteria are ANDed; each takes a comma-separated pattern list where '*'
 * and '?' are wildcards and a '!' entry that matches vetoes the list.
 * Criteria gcemount cannot decide from an image (Group: the image's group
 * database is not modelled; RDomain; unknown words) give "unknown": the
 * caller reports such a block instead of guessing.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

const struct gm_ssh_conn gm_ssh_conn_user = {
	"gcemount-user", "client.example.com", "203.0.113.10", "10.128.0.2", 22,
};
const struct gm_ssh_conn gm_ssh_conn_root = {
	"root", "client.example.com", "203.0.113.10", "10.128.0.2", 22,
};

/* One pattern (no '!') against s: fnmatch with '*' and '?' only. */
static bool pat_match(const char *s, const char *pat, size_t n, bool icase)
{
	char p[256];
	size_t k = 0;

	if (n >= sizeof(p) / 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (pat[i] == '[' || pat[i] == '\\' || pat[i] == ']')
			p[k++] = '\\';   /* OpenSSH patterns know only * and ? */
		p[k++] = pat[i];
	}
	p[k] = '\0';
	return fnmatch(p, s, icase ? FNM_CASEFOLD : 0) == 0;
}

/* 1 match, 0 none, -1 a negated entry matched (match_pattern_list). */
static int pattern_list(const char *s, const char *list, size_t n, bool icase)
{
	int got = 0;

	for (size_t i = 0; i < n;) {
		size_t w = 0;
		bool neg = list[i] == '!';

		if (neg)
			i++;
		while (i + w < n && list[i + w] != ',')
			w++;
		if (pat_match(s, list + i, w, icase)) {
			if (neg)
				return -1;
			got = 1;
		}
		i += w + 1;
	}
	return got;
}

/* IPv4/IPv6 CIDR "a.b.c.d/nn" test; -1 when entry is not a CIDR. */
static int cidr_match(const char *addr, const char *e, size_t n)
{
	char buf[64], bitstr[8];
	const char *slash = memchr(e, '/', n);
	unsigned char a[16], m[16];
	int fam, bits, len;

	if (!slash || n >= sizeof(buf))
		return -1;
	memcpy(buf, e, (size_t)(slash - e));
	buf[slash - e] = '\0';
	/* the prefix length: the bytes of this entry only (the list goes on) */
	snprintf(bitstr, sizeof(bitstr), "%.*s", (int)(e + n - slash - 1), slash + 1);
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	len = fam == AF_INET ? 4 : 16;
	if (inet_pton(fam, buf, m) != 1 || inet_pton(fam, addr, a) != 1)
		return inet_pton(fam, buf, m) == 1 ? 0 : -1;
	bits = atoi(bitstr);
	if (bits < 0 || bits > len * 8)
		return -1;
	for (int i = 0; i < len; i++) {
		int b = bits >= 8 ? 8 : bits > 0 ? bits : 0;
		unsigned char mask = (unsigned char)(b ? 0xff << (8 - b) : 0);

		if ((a[i] & mask) != (m[i] & mask))
			return 0;
		bits -= b;
	}
	return 1;
}

/* addr_match_list: 1 match, 0 none, -1 negated match. */
static int addr_list(const char *addr, const char *list, size_t n)
{
	int got = 0;

	for (size_t i = 0; i < n;) {
		size_t w = 0;
		bool neg = list[i] == '!';
		int r;

		if (neg)
			i++;
		while (i + w < n && list[i + w] != ',')
			w++;
		r = cidr_match(addr, list + i, w);
		if (r < 0)
			r = pat_match(addr, list + i, w, false);
		if (r > 0) {
			if (neg)
				return -1;
			got = 1;
		}
		i += w + 1;
	}
	return got;
}

enum gm_ssh_match gm_ssh_match_eval(const char *args, size_t n, const struct gm_ssh_conn *conn)
{
	enum gm_ssh_match res = GM_SSH_MATCH_YES;
	size_t i = 0, words = 0;

	while (i < n) {
		size_t kw, aw, a;

		while (i < n && (args[i] == ' ' || args[i] == '\t'))
			i++;
		if (i >= n)
			break;
		kw = i;
		while (i < n && args[i] != ' ' && args[i] != '\t')
			i++;
		size_t kl = i - kw;
		words++;
		if (kl == 3 && !strncasecmp(args + kw, "all", 3)) {
			/* "all" must stand alone: anything after it is an error for sshd */
			while (i < n && (args[i] == ' ' || args[i] == '\t'))
				i++;
			return i < n || words > 1 ? GM_SSH_MATCH_UNKNOWN : res;
		}
		while (i < n && (args[i] == ' ' || args[i] == '\t'))
			i++;
		a = i;
		while (i < n && args[i] != ' ' && args[i] != '\t')
			i++;
		aw = i - a;
		if (!aw)
			return GM_SSH_MATCH_UNKNOWN;   /* a criterion without its argument */
		const char *arg = args + a;
		if (aw >= 2 && arg[0] == '"' && arg[aw - 1] == '"') {
			arg++;
			aw -= 2;
		}
		int r = -2;
		if (!conn)
			r = -2;
		else if (kl == 4 && !strncasecmp(args + kw, "user", 4))
			r = pattern_list(conn->user, arg, aw, false);
		else if (kl == 4 && !strncasecmp(args + kw, "host", 4))
			r = pattern_list(conn->host, arg, aw, true);
		else if (kl == 7 && !strncasecmp(args + kw, "address", 7))
			r = addr_list(conn->addr, arg, aw);
		else if (kl == 12 && !strncasecmp(args + kw, "localaddress", 12))
			r = addr_list(conn->laddr, arg, aw);
		else if (kl == 9 && !strncasecmp(args + kw, "localport", 9)) {
			char p[16];
			snprintf(p, sizeof(p), "%.*s", (int)(aw < 15 ? aw : 15), arg);
			r = atoi(p) == conn->lport;
		}
		if (r == -2)
			res = res == GM_SSH_MATCH_NO ? res : GM_SSH_MATCH_UNKNOWN;
		else if (r != 1)
			res = GM_SSH_MATCH_NO;
	}
	return words ? res : GM_SSH_MATCH_UNKNOWN;
}
