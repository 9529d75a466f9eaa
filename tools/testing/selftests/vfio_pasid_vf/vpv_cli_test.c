// SPDX-License-Identifier: GPL-2.0
/*
 * tools/vpv-feature, the Rust reference consumer of
 * VFIO_DEVICE_FEATURE_PASID_VF, run as a user runs it:
 *
 *   vpv-feature [--iommufd|--group] [--json] VF [get|probe|set-offsets PASID PRI|hide]
 *
 * and what it prints compared with this program's own view of the VF.
 *
 *   VPV_FEATURE_CLI=PATH vpv_cli_test [harness options] VF   (or VFIO_SELFTESTS_BDF=VF)
 *
 * with the vpv_pf fixture loaded on the VF's PF and the VF bound to
 * vfio-pasid-vf (run.sh --suite emulation --feature-cli PATH).
 *
 * The tests' own view: each test opens the VF with libvfio on its iommufd
 * cdev, GETs the feature, reads the VF's config space through VFIO, walks its
 * extended capabilities from 0x100 and closes the VF, all before it runs the
 * CLI: a VF's cdev and its group can each be open only once at a time.  The
 * CLI runs by fork and execv (no shell), its stdout and stderr captured apart,
 * killed after CLI_TIMEOUT seconds.  Its JSON is read by a strict reader of
 * the subset that the schema below needs (objects, arrays, strings, integers,
 * true, false, null); anything else, anything after the one object, a key
 * missing or out of order, fails the test.
 *
 * The JSON of get, set-offsets and hide, key order as shown, every key always
 * present:
 *
 *   {"device": "0000:01:10.0", "open": "iommufd" | "group",
 *    "feature": {"size": N, "flags": N, "pf_pasid": "held" | "not held" | "lost",
 *      "pasid": null | {"version", "cap", "cap_known", "ctrl", "offset", "cap_presented"},
 *      "pri": null | {"version", "status", "status_known", "offset", "capacity"}},
 *    "config": {"ext_caps": [{"offset", "id", "version"}, ...],
 *      "pasid": null | {"offset", "version", "cap", "ctrl"},
 *      "pri": null | {"offset", "version", "ctrl", "status", "capacity", "allocation"}}}
 *
 * feature: struct vfio_device_feature_pasid_vf from GET (pasid: null iff
 * VFIO_PASID_VF_PASID is not in flags; pri likewise); config: the VF's
 * extended capabilities through the VFIO config region, and the registers of
 * the PASID and PRI capabilities found there.  probe prints
 * {"device", "open", "probe": {"get": true|false, "set": true|false}}.
 *
 * A SET by the CLI holds only for its own open, so the tests do not depend on
 * each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

/* The uAPI, from the repository (see vpv_feature_test.c). */
#include "../../../../include/uapi/linux/vfio_pasid_vf.h"

#define CFG_SIZE	PCI_CFG_SPACE_EXP_SIZE
#define MAX_CAPS	64

/* Seconds one run of the CLI may take, and a test that runs it at most twice. */
#define CLI_TIMEOUT	60
#define TEST_TIMEOUT	(2 * CLI_TIMEOUT + 60)

static const char *vf_bdf, *cli;
static char pf_bdf[32];
static int vf_index;

/* --- the test's own view of the VF --- */

static int get(int fd, struct vfio_device_feature_pasid_vf *info)
{
	size_t argsz = sizeof(struct vfio_device_feature) + sizeof(*info);
	struct vfio_device_feature *f = calloc(1, argsz);
	int ret;

	if (!f)
		return -ENOMEM;
	f->argsz = argsz;
	f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PASID_VF;
	ret = ioctl(fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0;
	memcpy(info, f->data, sizeof(*info));
	free(f);
	return ret;
}

/*
 * Where the VF's placement (sysfs; it describes the last open) says @name
 * ("PASID", "PRI") is: "PASID at 0x1a0 (PF's offset)".  The offset, 0 if it
 * names none, or -errno.
 */
static int placement_offset(const char *name)
{
	char placement[512], want[32], *at;
	unsigned int off;
	int ret = vpv_placement(vf_bdf, placement, sizeof(placement));

	if (ret < 0)
		return ret;
	snprintf(want, sizeof(want), "%s at 0x", name);
	at = strstr(placement, want);
	if (!at)
		return 0;
	return sscanf(at + strlen(want), "%x (", &off) == 1 ? (int)off : -EPROTO;
}

/* --- running the CLI --- */

#define OUT_MAX		65536

struct run {
	char cmd[256];			/* the command line, for messages */
	int status;			/* exit status; 128 + N if killed by signal N */
	char out[OUT_MAX], err[OUT_MAX];	/* stdout, stderr, NUL-terminated */
	size_t out_len, err_len;
};

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Runs the CLI with @args (after argv[0]) and waits for it, at most
 * CLI_TIMEOUT seconds (then kills it): 0 with @r filled, -ETIMEDOUT,
 * -EMSGSIZE if it printed more than @r holds, or another -errno.
 */
static int run_cli(struct run *r, const char *const args[])
{
	long long deadline = now_ms() + CLI_TIMEOUT * 1000LL;
	const char *argv[16] = { cli };
	int out[2], err[2], n, i, ret = 0, status;
	struct pollfd pfd[2];
	size_t *len, pos;
	ssize_t got;
	char *buf;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	pos = snprintf(r->cmd, sizeof(r->cmd), "vpv-feature");
	for (n = 1; args[n - 1] && n < 15; n++) {
		argv[n] = args[n - 1];
		if (pos < sizeof(r->cmd))
			pos += snprintf(r->cmd + pos, sizeof(r->cmd) - pos, " %s", argv[n]);
	}
	argv[n] = NULL;

	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		close(out[0]);
		close(out[1]);
		return ret;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (!pid) {
		/*
		 * Its own process group, which a timeout kills whole, and dies
		 * with the test: never left holding the VF open.
		 */
		if (setpgid(0, 0) || prctl(PR_SET_PDEATHSIG, SIGKILL) || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		execv(cli, (char *const *)argv);
		dprintf(2, "execv %s: %s\n", cli, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		ret = -errno;
	close(out[1]);
	close(err[1]);
	pfd[0] = (struct pollfd){ .fd = pid < 0 ? -1 : out[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = pid < 0 ? -1 : err[0], .events = POLLIN };
	while (!ret && (pfd[0].fd >= 0 || pfd[1].fd >= 0)) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(pfd, 2, left) < 0) {
			if (errno != EINTR)
				ret = -errno;
			continue;
		}
		for (i = 0; i < 2 && !ret; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			buf = i ? r->err : r->out;
			len = i ? &r->err_len : &r->out_len;
			if (*len == OUT_MAX - 1) {
				ret = -EMSGSIZE;
				break;
			}
			got = read(pfd[i].fd, buf + *len, OUT_MAX - 1 - *len);
			if (got > 0)
				*len += got;
			else if (!got || errno != EINTR)
				pfd[i].fd = -1;
		}
	}
	close(out[0]);
	close(err[0]);
	if (pid < 0)
		return ret;
	/* Both pipes at their end: the CLI has the rest of its time to exit. */
	while (!ret) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			ret = -errno;
		else if (now_ms() >= deadline)
			ret = -ETIMEDOUT;
		else
			usleep(10000);
	}
	if (ret) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		return ret;
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

/* --- a strict reader of the JSON subset the schema needs --- */

/* A JSON value: its text, from its first to its last character. */
struct span {
	const char *p;
	size_t len;
};

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The end of the string starting at @p (its '"'), or NULL if it is malformed. */
static const char *string_end(const char *p, const char *end)
{
	int i;

	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		if (++p == end)
			return NULL;
		if (*p == 'u') {
			for (i = 1; i <= 4; i++)
				if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return NULL;
}

/* The end of the integer starting at @p: -?(0|[1-9][0-9]*), no fraction, no exponent. */
static const char *integer_end(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0')
		return p + 1;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* The end of the value starting at @p, or NULL if it is malformed or nested too deep. */
static const char *value_end(const char *p, const char *end, int depth)
{
	bool object;
	char close;

	if (p == end || depth > 8)
		return NULL;
	switch (*p) {
	case '"':
		return string_end(p, end);
	case '{':
	case '[':
		object = *p == '{';
		close = object ? '}' : ']';
		p = ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (object) {
				if (p == end || *p != '"')
					return NULL;
				p = string_end(p, end);
				if (!p)
					return NULL;
				p = ws(p, end);
				if (p == end || *p != ':')
					return NULL;
				p = ws(p + 1, end);
			}
			p = value_end(p, end, depth + 1);
			if (!p)
				return NULL;
			p = ws(p, end);
			if (p < end && *p == close)
				return p + 1;
			if (p == end || *p != ',')
				return NULL;
			p = ws(p + 1, end);
		}
	case 't':
		return end - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
	case 'f':
		return end - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
	case 'n':
		return end - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
	default:
		return integer_end(p, end);
	}
}

/* @text[@len] is exactly one object, whitespace around it: 0 with @doc, or -EINVAL. */
static int json_parse(const char *text, size_t len, struct span *doc)
{
	const char *end = text + len, *p = ws(text, end), *e;

	if (memchr(text, '\0', len) || p == end || *p != '{')
		return -EINVAL;
	e = value_end(p, end, 0);
	if (!e || ws(e, end) != end)
		return -EINVAL;
	*doc = (struct span){ p, e - p };
	return 0;
}

/*
 * The members of the object @obj (already checked by json_parse()), in order:
 * call with *@p NULL first; 1 with @key (its quotes stripped) and @val, 0 at
 * the end, -EINVAL if @obj is not an object.
 */
static int members(struct span obj, const char **p, struct span *key, struct span *val)
{
	const char *end = obj.p + obj.len, *e;

	if (!*p) {
		if (!obj.len || *obj.p != '{')
			return -EINVAL;
		*p = obj.p + 1;
	}
	*p = ws(*p, end);
	if (**p == ',')
		*p = ws(*p + 1, end);
	if (**p == '}')
		return 0;
	e = string_end(*p, end);
	*key = (struct span){ *p + 1, e - *p - 2 };
	*p = ws(ws(e, end) + 1, end);		/* past the ':' */
	e = value_end(*p, end, 0);
	*val = (struct span){ *p, e - *p };
	*p = e;
	return 1;
}

/* The elements of the array @arr, as members() goes through an object's. */
static int elements(struct span arr, const char **p, struct span *val)
{
	const char *end = arr.p + arr.len, *e;

	if (!*p) {
		if (!arr.len || *arr.p != '[')
			return -EINVAL;
		*p = arr.p + 1;
	}
	*p = ws(*p, end);
	if (**p == ',')
		*p = ws(*p + 1, end);
	if (**p == ']')
		return 0;
	e = value_end(*p, end, 0);
	*val = (struct span){ *p, e - *p };
	*p = e;
	return 1;
}

static bool span_is(struct span s, const char *text)
{
	return s.len == strlen(text) && !memcmp(s.p, text, s.len);
}

/* The keys of the object @obj, comma-separated, into @buf: 0, or -EINVAL if not an object. */
static int json_keys(struct span obj, char *buf, size_t len)
{
	const char *p = NULL;
	struct span key, val;
	size_t pos = 0;
	int ret;

	buf[0] = '\0';
	while ((ret = members(obj, &p, &key, &val)) > 0)
		if (pos < len)
			pos += snprintf(buf + pos, len - pos, "%s%.*s", pos ? "," : "",
					(int)key.len, key.p);
	return ret;
}

/*
 * The member @key of the object @obj: 0 with @val, -ENOENT if there is none,
 * -EINVAL if @obj is not an object or has @key twice.
 */
static int json_member(struct span obj, const char *key, struct span *val)
{
	const char *p = NULL;
	struct span k, v;
	int ret, found = 0;

	while ((ret = members(obj, &p, &k, &v)) > 0) {
		if (span_is(k, key)) {
			*val = v;
			found++;
		}
	}
	if (ret < 0 || found > 1)
		return -EINVAL;
	return found ? 0 : -ENOENT;
}

/* The integer @s: 0 with @v, or -EINVAL if @s is not one or does not fit. */
static int json_int(struct span s, long long *v)
{
	char buf[24], *e;

	if (!s.len || integer_end(s.p, s.p + s.len) != s.p + s.len || s.len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	errno = 0;
	*v = strtoll(buf, &e, 10);
	return errno || *e ? -EINVAL : 0;
}

/* The string @s, without escapes (the schema has none), into @buf: 0 or -EINVAL. */
static int json_str(struct span s, char *buf, size_t len)
{
	if (s.len < 2 || s.p[0] != '"' || s.p[s.len - 1] != '"' ||
	    memchr(s.p + 1, '\\', s.len - 2) || s.len - 2 >= len)
		return -EINVAL;
	memcpy(buf, s.p + 1, s.len - 2);
	buf[s.len - 2] = '\0';
	return 0;
}

/* @s without the whitespace between tokens, into @buf (at least @s's length + 1). */
static void json_compact(struct span s, char *buf)
{
	bool in_string = false;
	size_t i;

	for (i = 0; i < s.len; i++) {
		if (in_string) {
			*buf++ = s.p[i];
			if (s.p[i] == '\\')
				*buf++ = s.p[++i];
			else if (s.p[i] == '"')
				in_string = false;
		} else if (!strchr(" \t\n\r", s.p[i])) {
			*buf++ = s.p[i];
			in_string = s.p[i] == '"';
		}
	}
	*buf = '\0';
}

/* --- the JSON in tests: each helper fails the test on what the schema does not allow --- */

/* The value at the dotted @path ("feature.pasid.offset") in the object @obj. */
static struct span at(struct __test_metadata *_metadata, struct span obj, const char *path)
{
	char key[64];
	const char *dot;
	struct span val = obj;
	int ret;

	while (*path) {
		dot = strchrnul(path, '.');
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		ret = json_member(val, key, &val);
		ASSERT_EQ(0, ret) TH_LOG("\"%s\": %s in %.*s", key,
					 ret == -ENOENT ? "no such key" : "not an object, or a key twice",
					 (int)obj.len, obj.p);
		path = *dot ? dot + 1 : dot;
	}
	return val;
}

static long long num(struct __test_metadata *_metadata, struct span obj, const char *path)
{
	struct span s = at(_metadata, obj, path);
	long long v = 0;

	ASSERT_EQ(0, json_int(s, &v)) TH_LOG("%s: %.*s is not an integer", path,
					     (int)s.len, s.p);
	return v;
}

static void str(struct __test_metadata *_metadata, struct span obj, const char *path, char *buf,
		size_t len)
{
	struct span s = at(_metadata, obj, path);

	ASSERT_EQ(0, json_str(s, buf, len)) TH_LOG("%s: %.*s is not a plain string", path,
						   (int)s.len, s.p);
}

static bool boolean(struct __test_metadata *_metadata, struct span obj, const char *path)
{
	struct span s = at(_metadata, obj, path);

	ASSERT_TRUE(span_is(s, "true") || span_is(s, "false"))
		TH_LOG("%s: %.*s is not true or false", path, (int)s.len, s.p);
	return span_is(s, "true");
}

static bool is_null(struct __test_metadata *_metadata, struct span obj, const char *path)
{
	return span_is(at(_metadata, obj, path), "null");
}

/* The object @obj, named @what in messages, has exactly the keys @want ("a,b,c"), in that order. */
static void keys_of(struct __test_metadata *_metadata, struct span obj, const char *what,
		    const char *want)
{
	char got[256];

	ASSERT_EQ(0, json_keys(obj, got, sizeof(got))) TH_LOG("%s: %.*s is not an object", what,
							      (int)obj.len, obj.p);
	EXPECT_STREQ(want, got) TH_LOG("the keys of %s", what);
}

/* The same for the object at @path of @doc ("": @doc itself, the output). */
static void keys(struct __test_metadata *_metadata, struct span doc, const char *path,
		 const char *want)
{
	keys_of(_metadata, at(_metadata, doc, path), *path ? path : "the output", want);
}

/* Runs the CLI with @args; it must exit 0 and print one JSON object, @doc. */
static void run_json(struct __test_metadata *_metadata, struct run *r, const char *const args[],
		     struct span *doc)
{
	int ret = run_cli(r, args);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s", r->cmd, strerror(-ret));
	ASSERT_EQ(0, r->status) TH_LOG("%s exited %d; stderr: %s", r->cmd, r->status, r->err);
	ASSERT_EQ(0, json_parse(r->out, r->out_len, doc))
		TH_LOG("%s: stdout is not one JSON object of the schema's subset:\n%s", r->cmd,
		       r->out);
}

/* The schema's keys, in order: the output, feature, config, and their objects. */
static void check_schema_keys(struct __test_metadata *_metadata, struct span doc)
{
	keys(_metadata, doc, "", "device,open,feature,config");
	keys(_metadata, doc, "feature", "size,flags,pf_pasid,pasid,pri");
	if (!is_null(_metadata, doc, "feature.pasid"))
		keys(_metadata, doc, "feature.pasid",
		     "version,cap,cap_known,ctrl,offset,cap_presented");
	if (!is_null(_metadata, doc, "feature.pri"))
		keys(_metadata, doc, "feature.pri", "version,status,status_known,offset,capacity");
	keys(_metadata, doc, "config", "ext_caps,pasid,pri");
	if (!is_null(_metadata, doc, "config.pasid"))
		keys(_metadata, doc, "config.pasid", "offset,version,cap,ctrl");
	if (!is_null(_metadata, doc, "config.pri"))
		keys(_metadata, doc, "config.pri",
		     "offset,version,ctrl,status,capacity,allocation");
}

/* config.ext_caps, each element checked against the schema: how many, into @caps. */
static int json_ext_caps(struct __test_metadata *_metadata, struct span doc,
			 struct vpv_ecap *caps, int max)
{
	struct span arr = at(_metadata, doc, "config.ext_caps"), el;
	const char *p = NULL;
	char what[32];
	int n = 0, ret;

	while ((ret = elements(arr, &p, &el)) > 0) {
		ASSERT_LT(n, max) TH_LOG("config.ext_caps: over %d entries", max);
		snprintf(what, sizeof(what), "config.ext_caps[%d]", n);
		keys_of(_metadata, el, what, "offset,id,version");
		caps[n++] = (struct vpv_ecap){ num(_metadata, el, "offset"),
					       num(_metadata, el, "id"),
					       num(_metadata, el, "version") };
	}
	ASSERT_EQ(0, ret) TH_LOG("config.ext_caps: %.*s is not an array", (int)arr.len, arr.p);
	return n;
}

/* --- the fixture: the test's own view, the VF closed again --- */

FIXTURE(cli) {
	struct vfio_device_feature_pasid_vf info;	/* GET */
	uint8_t cfg[CFG_SIZE];				/* config space through VFIO */
	struct vpv_ecap caps[MAX_CAPS];			/* its extended capabilities */
	int ncaps;
	const struct vpv_ecap *pasid, *pri;		/* the emulated ones among them */
};

FIXTURE_SETUP(cli)
{
	struct vfio_pci_device *dev;
	struct iommu *iommu;
	int get_ret, cfg_ret;

	ASSERT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER));
	iommu = iommu_init(MODE_IOMMUFD);
	dev = vfio_pci_device_init(vf_bdf, iommu);
	get_ret = get(dev->fd, &self->info);
	cfg_ret = vpv_vfio_cfg_rw(dev, false, 0, self->cfg, CFG_SIZE);
	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	ASSERT_EQ(0, get_ret) TH_LOG("GET: %s", strerror(-get_ret));
	ASSERT_EQ(0, cfg_ret) TH_LOG("config space through VFIO: %s", strerror(-cfg_ret));

	self->ncaps = vpv_ecap_chain(self->cfg, self->caps, MAX_CAPS);
	ASSERT_LE(0, self->ncaps) TH_LOG("the VF's chain through VFIO loops");
	self->pasid = vpv_ecap_entry(self->caps, self->ncaps, PCI_EXT_CAP_ID_PASID);
	self->pri = vpv_ecap_entry(self->caps, self->ncaps, PCI_EXT_CAP_ID_PRI);
	/* run.sh's emulation suite gives the PF PASID and PRI (the vpv_pf fixture). */
	ASSERT_NE(NULL, self->pasid) TH_LOG("the VF presents no PASID capability");
	ASSERT_NE(NULL, self->pri) TH_LOG("the VF presents no PRI capability");
}

FIXTURE_TEARDOWN(cli)
{
}

static const char *pf_pasid_name(unsigned int v)
{
	switch (v) {
	case VFIO_PASID_VF_PF_PASID_NOT_HELD:
		return "not held";
	case VFIO_PASID_VF_PF_PASID_HELD:
		return "held";
	case VFIO_PASID_VF_PF_PASID_LOST:
		return "lost";
	}
	return "?";
}

/* get --json */

/*
 * feature: every field of struct vfio_device_feature_pasid_vf equal to the
 * test's own GET; pasid and pri objects exactly when flags has
 * VFIO_PASID_VF_PASID and VFIO_PASID_VF_PRI.
 */
TEST_F_TIMEOUT(cli, json_get_feature_matches_ioctl, TEST_TIMEOUT)
{
	const struct vfio_device_feature_pasid_vf *info = &self->info;
	static struct run r;
	struct span doc;
	char s[64];

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "get"), &doc);
	check_schema_keys(_metadata, doc);
	str(_metadata, doc, "device", s, sizeof(s));
	EXPECT_STREQ(vf_bdf, s);
	str(_metadata, doc, "open", s, sizeof(s));
	EXPECT_STREQ("iommufd", s);

	EXPECT_EQ(info->size, num(_metadata, doc, "feature.size"));
	EXPECT_EQ(info->flags, num(_metadata, doc, "feature.flags"));
	str(_metadata, doc, "feature.pf_pasid", s, sizeof(s));
	EXPECT_STREQ(pf_pasid_name(info->pf_pasid), s);

	ASSERT_EQ(!(info->flags & VFIO_PASID_VF_PASID), is_null(_metadata, doc, "feature.pasid"))
		TH_LOG("flags %#x", info->flags);
	if (info->flags & VFIO_PASID_VF_PASID) {
		EXPECT_EQ(info->pasid_version, num(_metadata, doc, "feature.pasid.version"));
		EXPECT_EQ(info->pasid_cap, num(_metadata, doc, "feature.pasid.cap"));
		EXPECT_EQ(info->pasid_cap_known, num(_metadata, doc, "feature.pasid.cap_known"));
		EXPECT_EQ(info->pasid_ctrl, num(_metadata, doc, "feature.pasid.ctrl"));
		EXPECT_EQ(info->pasid_offset, num(_metadata, doc, "feature.pasid.offset"));
		EXPECT_EQ(info->pasid_cap_presented,
			  num(_metadata, doc, "feature.pasid.cap_presented"));
	}
	ASSERT_EQ(!(info->flags & VFIO_PASID_VF_PRI), is_null(_metadata, doc, "feature.pri"))
		TH_LOG("flags %#x", info->flags);
	if (info->flags & VFIO_PASID_VF_PRI) {
		EXPECT_EQ(info->pri_version, num(_metadata, doc, "feature.pri.version"));
		EXPECT_EQ(info->pri_status, num(_metadata, doc, "feature.pri.status"));
		EXPECT_EQ(info->pri_status_known, num(_metadata, doc, "feature.pri.status_known"));
		EXPECT_EQ(info->pri_offset, num(_metadata, doc, "feature.pri.offset"));
		EXPECT_EQ(info->pri_capacity, num(_metadata, doc, "feature.pri.capacity"));
	}
	if (_metadata->exit_code)
		TH_LOG("%s printed:\n%s", r.cmd, r.out);
}

/*
 * config: ext_caps is the test's own walk from 0x100 (offset, ID, version of
 * each, in order); pasid holds the PASID capability's Capability and Control
 * registers, pri the PRI capability's Control, Status, Outstanding Page
 * Request Capacity and Allocation, as the test reads them through VFIO.
 */
TEST_F_TIMEOUT(cli, json_get_config_matches_walk, TEST_TIMEOUT)
{
	const uint8_t *pasid = self->cfg + self->pasid->off, *pri = self->cfg + self->pri->off;
	struct vpv_ecap caps[MAX_CAPS];
	static struct run r;
	struct span doc;
	int n, i;

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "get"), &doc);
	check_schema_keys(_metadata, doc);
	n = json_ext_caps(_metadata, doc, caps, MAX_CAPS);
	EXPECT_EQ(self->ncaps, n);
	for (i = 0; i < n && i < self->ncaps; i++) {
		EXPECT_EQ(self->caps[i].off, caps[i].off) TH_LOG("ext_caps[%d]", i);
		EXPECT_EQ(self->caps[i].id, caps[i].id) TH_LOG("ext_caps[%d] at %#x", i, caps[i].off);
		EXPECT_EQ(self->caps[i].ver, caps[i].ver) TH_LOG("ext_caps[%d] at %#x", i,
								 caps[i].off);
	}

	ASSERT_FALSE(is_null(_metadata, doc, "config.pasid"));
	EXPECT_EQ(self->pasid->off, num(_metadata, doc, "config.pasid.offset"));
	EXPECT_EQ(self->pasid->ver, num(_metadata, doc, "config.pasid.version"));
	EXPECT_EQ(vpv_le16(pasid + PCI_PASID_CAP), num(_metadata, doc, "config.pasid.cap"));
	EXPECT_EQ(vpv_le16(pasid + PCI_PASID_CTRL), num(_metadata, doc, "config.pasid.ctrl"));

	ASSERT_FALSE(is_null(_metadata, doc, "config.pri"));
	EXPECT_EQ(self->pri->off, num(_metadata, doc, "config.pri.offset"));
	EXPECT_EQ(self->pri->ver, num(_metadata, doc, "config.pri.version"));
	EXPECT_EQ(vpv_le16(pri + PCI_PRI_CTRL), num(_metadata, doc, "config.pri.ctrl"));
	EXPECT_EQ(vpv_le16(pri + PCI_PRI_STATUS), num(_metadata, doc, "config.pri.status"));
	EXPECT_EQ(vpv_le32(pri + PCI_PRI_MAX_REQ), num(_metadata, doc, "config.pri.capacity"));
	EXPECT_EQ(vpv_le32(pri + PCI_PRI_ALLOC_REQ), num(_metadata, doc, "config.pri.allocation"));
	if (_metadata->exit_code)
		TH_LOG("%s printed:\n%s", r.cmd, r.out);
}

/*
 * feature.pasid.offset, feature.pri.offset, config.pasid.offset and
 * config.pri.offset are where the VF's placement (sysfs) says the CLI's open
 * presented PASID and PRI.
 */
TEST_F_TIMEOUT(cli, json_offsets_match_sysfs_placement, TEST_TIMEOUT)
{
	static struct run r;
	struct span doc;
	int pasid, pri;

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "get"), &doc);
	check_schema_keys(_metadata, doc);
	pasid = placement_offset("PASID");
	pri = placement_offset("PRI");
	ASSERT_LT(0, pasid) TH_LOG("the placement names no PASID offset: %d", pasid);
	ASSERT_LT(0, pri) TH_LOG("the placement names no PRI offset: %d", pri);
	ASSERT_FALSE(is_null(_metadata, doc, "feature.pasid"));
	ASSERT_FALSE(is_null(_metadata, doc, "feature.pri"));
	ASSERT_FALSE(is_null(_metadata, doc, "config.pasid"));
	ASSERT_FALSE(is_null(_metadata, doc, "config.pri"));
	EXPECT_EQ(pasid, num(_metadata, doc, "feature.pasid.offset"));
	EXPECT_EQ(pri, num(_metadata, doc, "feature.pri.offset"));
	EXPECT_EQ(pasid, num(_metadata, doc, "config.pasid.offset"));
	EXPECT_EQ(pri, num(_metadata, doc, "config.pri.offset"));
}

/*
 * --group: the VF opened through its legacy VFIO group reads the same, feature
 * and config, as through its cdev; only "open" says "group".
 */
TEST_F_TIMEOUT(cli, json_group_equals_iommufd, TEST_TIMEOUT)
{
	static char a[OUT_MAX], b[OUT_MAX];
	static struct run cdev, group;
	struct span c, g;
	char s[64];

	run_json(_metadata, &cdev, ARGS("--json", vf_bdf, "get"), &c);
	run_json(_metadata, &group, ARGS("--group", "--json", vf_bdf, "get"), &g);
	check_schema_keys(_metadata, g);
	str(_metadata, g, "open", s, sizeof(s));
	EXPECT_STREQ("group", s);
	str(_metadata, c, "open", s, sizeof(s));
	EXPECT_STREQ("iommufd", s);
	json_compact(at(_metadata, c, "device"), a);
	json_compact(at(_metadata, g, "device"), b);
	EXPECT_STREQ(a, b) TH_LOG("device");
	json_compact(at(_metadata, c, "feature"), a);
	json_compact(at(_metadata, g, "feature"), b);
	EXPECT_STREQ(a, b) TH_LOG("feature");
	json_compact(at(_metadata, c, "config"), a);
	json_compact(at(_metadata, g, "config"), b);
	EXPECT_STREQ(a, b) TH_LOG("config");
}

/* probe --json: PROBE with GET and with SET both succeed on a vfio-pasid-vf VF. */
TEST_F_TIMEOUT(cli, json_probe_reports_get_and_set, TEST_TIMEOUT)
{
	static struct run r;
	struct span doc;
	char s[64];

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "probe"), &doc);
	keys(_metadata, doc, "", "device,open,probe");
	keys(_metadata, doc, "probe", "get,set");
	str(_metadata, doc, "device", s, sizeof(s));
	EXPECT_STREQ(vf_bdf, s);
	str(_metadata, doc, "open", s, sizeof(s));
	EXPECT_STREQ("iommufd", s);
	EXPECT_TRUE(boolean(_metadata, doc, "probe.get")) TH_LOG("%s", r.out);
	EXPECT_TRUE(boolean(_metadata, doc, "probe.set")) TH_LOG("%s", r.out);
}

/* set-offsets */

/*
 * set-offsets PASID PRI to free room clear of where the open placed them:
 * the GET and the config space that follow on the same open show both there
 * (feature offsets, and the chain's PASID and PRI capabilities).
 */
TEST_F_TIMEOUT(cli, set_offsets_moves_the_capabilities, TEST_TIMEOUT)
{
	struct vpv_range avoid[2] = {
		{ self->pasid->off, self->pasid->off + PCI_EXT_CAP_PASID_SIZEOF },
		{ self->pri->off, self->pri->off + PCI_EXT_CAP_PRI_SIZEOF },
	};
	char pasid_arg[16], pri_arg[16];
	struct vpv_ecap caps[MAX_CAPS];
	unsigned int pasid, pri;
	static struct run r;
	struct span doc;
	int n, ret;

	ret = vpv_free_room(vf_bdf, avoid, 2, &pasid, &pri);
	ASSERT_EQ(0, ret) TH_LOG("no free room for PASID and PRI (PASID at %#x): %s", pasid,
				 strerror(-ret));
	ksft_print_msg("PASID %#x -> %#x, PRI %#x -> %#x\n", self->pasid->off, pasid,
		       self->pri->off, pri);
	snprintf(pasid_arg, sizeof(pasid_arg), "%#x", pasid);
	snprintf(pri_arg, sizeof(pri_arg), "%#x", pri);

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "set-offsets", pasid_arg, pri_arg), &doc);
	check_schema_keys(_metadata, doc);
	EXPECT_EQ(0, num(_metadata, doc, "feature.flags") & VFIO_PASID_VF_HIDDEN);
	ASSERT_FALSE(is_null(_metadata, doc, "feature.pasid"));
	ASSERT_FALSE(is_null(_metadata, doc, "feature.pri"));
	EXPECT_EQ(pasid, num(_metadata, doc, "feature.pasid.offset"));
	EXPECT_EQ(pri, num(_metadata, doc, "feature.pri.offset"));
	ASSERT_FALSE(is_null(_metadata, doc, "config.pasid"));
	ASSERT_FALSE(is_null(_metadata, doc, "config.pri"));
	EXPECT_EQ(pasid, num(_metadata, doc, "config.pasid.offset"));
	EXPECT_EQ(pri, num(_metadata, doc, "config.pri.offset"));
	n = json_ext_caps(_metadata, doc, caps, MAX_CAPS);
	ASSERT_NE(NULL, vpv_ecap_entry(caps, n, PCI_EXT_CAP_ID_PASID));
	ASSERT_NE(NULL, vpv_ecap_entry(caps, n, PCI_EXT_CAP_ID_PRI));
	EXPECT_EQ(pasid, vpv_ecap_entry(caps, n, PCI_EXT_CAP_ID_PASID)->off);
	EXPECT_EQ(pri, vpv_ecap_entry(caps, n, PCI_EXT_CAP_ID_PRI)->off);
	if (_metadata->exit_code)
		TH_LOG("%s printed:\n%s", r.cmd, r.out);
}

/* Runs the CLI with @args; it must exit 1 with @errno_name on stderr. */
static void expect_errno(struct __test_metadata *_metadata, const char *const args[],
			 const char *errno_name)
{
	static struct run r;
	int ret = run_cli(&r, args);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s", r.cmd, strerror(-ret));
	EXPECT_EQ(1, r.status) TH_LOG("%s; stdout:\n%s\nstderr:\n%s", r.cmd, r.out, r.err);
	EXPECT_NE(NULL, strstr(r.err, errno_name))
		TH_LOG("%s: no %s on stderr:\n%s", r.cmd, errno_name, r.err);
}

/*
 * PASID over a capability of the VF's own (the first in the chain through
 * VFIO): the kernel refuses the SET with -ENOSPC, and the CLI says so.
 */
TEST_F_TIMEOUT(cli, set_offsets_over_a_vf_capability_exits_1_naming_enospc, TEST_TIMEOUT)
{
	char arg[16];
	int i;

	for (i = 0; i < self->ncaps; i++)
		if (self->caps[i].id && self->caps[i].id != PCI_EXT_CAP_ID_PASID &&
		    self->caps[i].id != PCI_EXT_CAP_ID_PRI)
			break;
	ASSERT_LT(i, self->ncaps) TH_LOG("the VF shows no extended capability of its own");
	snprintf(arg, sizeof(arg), "%#x", self->caps[i].off);
	ksft_print_msg("VF capability %#x at %s\n", self->caps[i].id, arg);
	expect_errno(_metadata, ARGS(vf_bdf, "set-offsets", arg, "0"), "ENOSPC");
}

/* A PASID offset that is not dword aligned: -EINVAL from the kernel, and the CLI says so. */
TEST_F_TIMEOUT(cli, set_offsets_unaligned_exits_1_naming_einval, TEST_TIMEOUT)
{
	char arg[16];

	snprintf(arg, sizeof(arg), "%#x", self->pasid->off + 2);
	expect_errno(_metadata, ARGS(vf_bdf, "set-offsets", arg, "0"), "EINVAL");
}

/* hide */

/*
 * hide: flags has VFIO_PASID_VF_HIDDEN (and still the PF's PASID and PRI),
 * both feature offsets are 0, and the config space has no PASID (0x1b) or PRI
 * (0x13) capability: config.pasid and config.pri are null.
 */
TEST_F_TIMEOUT(cli, hide_presents_no_capability, TEST_TIMEOUT)
{
	struct vpv_ecap caps[MAX_CAPS];
	static struct run r;
	struct span doc;
	long long flags;
	int n, i;

	run_json(_metadata, &r, ARGS("--json", vf_bdf, "hide"), &doc);
	check_schema_keys(_metadata, doc);
	flags = num(_metadata, doc, "feature.flags");
	EXPECT_EQ(VFIO_PASID_VF_HIDDEN, flags & VFIO_PASID_VF_HIDDEN) TH_LOG("flags %#llx", flags);
	ASSERT_EQ(VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI,
		  flags & (VFIO_PASID_VF_PASID | VFIO_PASID_VF_PRI)) TH_LOG("flags %#llx", flags);
	EXPECT_EQ(0, num(_metadata, doc, "feature.pasid.offset"));
	EXPECT_EQ(0, num(_metadata, doc, "feature.pri.offset"));
	n = json_ext_caps(_metadata, doc, caps, MAX_CAPS);
	for (i = 0; i < n; i++) {
		EXPECT_NE(PCI_EXT_CAP_ID_PASID, caps[i].id) TH_LOG("at %#x", caps[i].off);
		EXPECT_NE(PCI_EXT_CAP_ID_PRI, caps[i].id) TH_LOG("at %#x", caps[i].off);
	}
	EXPECT_TRUE(is_null(_metadata, doc, "config.pasid"));
	EXPECT_TRUE(is_null(_metadata, doc, "config.pri"));
	if (_metadata->exit_code)
		TH_LOG("%s printed:\n%s", r.cmd, r.out);
}

/* get, as text */

/* Whether the line at @p (up to a newline or the end) is @line. */
static bool line_is(const char *p, const char *line)
{
	size_t len = strlen(line);

	return !strncmp(p, line, len) && (p[len] == '\n' || !p[len]);
}

/* The line after the line @line of @text, or NULL if @text has no such line. */
static const char *after_line(const char *text, const char *line)
{
	const char *p;

	for (p = text; *p; p = strchrnul(p, '\n'), p += !!*p)
		if (line_is(p, line))
			return p + strlen(line) + !!p[strlen(line)];
	return NULL;
}

/*
 * get: lspci -vvv's lines "Capabilities: [OFF vN] Process Address Space ID
 * (PASID)" and "... Page Request Interface (PRI)" at the offsets the
 * placement names, and under PASID a PASIDCap line whose Exec, Priv and Max
 * PASID Width are the presented Capability register's.
 */
TEST_F_TIMEOUT(cli, text_get_names_pasid_and_pri_at_their_offsets, TEST_TIMEOUT)
{
	char want[128], cap_line[128];
	static struct run r;
	const char *next;
	int pasid, pri, ret;
	uint16_t cap;

	ret = run_cli(&r, ARGS(vf_bdf, "get"));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", r.cmd, strerror(-ret));
	ASSERT_EQ(0, r.status) TH_LOG("%s exited %d; stderr: %s", r.cmd, r.status, r.err);
	pasid = placement_offset("PASID");
	pri = placement_offset("PRI");
	ASSERT_LT(0, pasid) TH_LOG("the placement names no PASID offset: %d", pasid);
	ASSERT_LT(0, pri) TH_LOG("the placement names no PRI offset: %d", pri);
	ASSERT_LE(pasid, CFG_SIZE - PCI_EXT_CAP_PASID_SIZEOF);
	ASSERT_LE(pri, CFG_SIZE - PCI_EXT_CAP_PRI_SIZEOF);

	snprintf(want, sizeof(want), "\tCapabilities: [%03x v%u] Process Address Space ID (PASID)",
		 pasid, PCI_EXT_CAP_VER(vpv_le32(self->cfg + pasid)));
	next = after_line(r.out, want);
	EXPECT_NE(NULL, next) TH_LOG("no line '%s' in:\n%s", want, r.out);
	cap = vpv_le16(self->cfg + pasid + PCI_PASID_CAP);
	snprintf(cap_line, sizeof(cap_line), "\t\tPASIDCap: Exec%c Priv%c, Max PASID Width: %02x",
		 cap & PCI_PASID_CAP_EXEC ? '+' : '-', cap & PCI_PASID_CAP_PRIV ? '+' : '-',
		 (cap & PCI_PASID_CAP_WIDTH) >> 8);
	if (next)
		EXPECT_TRUE(line_is(next, cap_line))
			TH_LOG("the PASID Capability register reads %#06x: want '%s' after '%s' in:\n%s",
			       cap, cap_line, want, r.out);

	snprintf(want, sizeof(want), "\tCapabilities: [%03x v%u] Page Request Interface (PRI)",
		 pri, PCI_EXT_CAP_VER(vpv_le32(self->cfg + pri)));
	EXPECT_NE(NULL, after_line(r.out, want)) TH_LOG("no line '%s' in:\n%s", want, r.out);
}

/* Errors */

/*
 * The VF's PF, bound to its own driver, is no VFIO device: through the cdev,
 * through a group, as text or JSON, the CLI exits 1 with a message on stderr
 * and prints nothing on stdout.
 */
TEST_F_TIMEOUT(cli, non_vfio_device_exits_1_with_a_message_on_stderr, 4 * CLI_TIMEOUT + 60)
{
	const char *const *args[] = {
		ARGS(pf_bdf, "get"),
		ARGS("--json", pf_bdf, "get"),
		ARGS("--group", pf_bdf, "get"),
		ARGS("--json", pf_bdf, "probe"),
	};
	static struct run r;
	unsigned int i;
	char drv[64];
	int ret;

	ASSERT_EQ(0, vpv_driver_of(pf_bdf, drv, sizeof(drv)));
	ASSERT_NE(0, drv[0]) TH_LOG("PF %s has no driver", pf_bdf);
	ASSERT_NE(0, strcmp(drv, VFIO_PCI_DRIVER)) TH_LOG("PF %s is bound to %s", pf_bdf, drv);
	ASSERT_NE(0, strcmp(drv, VPV_DRIVER)) TH_LOG("PF %s is bound to %s", pf_bdf, drv);
	ksft_print_msg("PF %s bound to %s\n", pf_bdf, drv);

	for (i = 0; i < ARRAY_SIZE(args); i++) {
		ret = run_cli(&r, args[i]);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", r.cmd, strerror(-ret));
		EXPECT_EQ(1, r.status) TH_LOG("%s; stderr:\n%s", r.cmd, r.err);
		EXPECT_EQ(0, r.out_len) TH_LOG("%s printed on stdout:\n%s", r.cmd, r.out);
		EXPECT_NE(0, r.err_len) TH_LOG("%s printed nothing on stderr", r.cmd);
	}
}

/* Usage errors (an unknown command or option, a missing offset, no VF): exit 2. */
TEST_F_TIMEOUT(cli, usage_errors_exit_2, 4 * CLI_TIMEOUT + 60)
{
	const char *const *args[] = {
		ARGS(vf_bdf, "frobnicate"),
		ARGS("--frobnicate", vf_bdf, "get"),
		ARGS(vf_bdf, "set-offsets", "0x200"),
		ARGS("--json"),
	};
	static struct run r;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(args); i++) {
		ret = run_cli(&r, args[i]);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", r.cmd, strerror(-ret));
		EXPECT_EQ(2, r.status) TH_LOG("%s; stdout:\n%s\nstderr:\n%s", r.cmd, r.out, r.err);
		EXPECT_NE(0, r.err_len) TH_LOG("%s printed nothing on stderr", r.cmd);
	}
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	cli = vpv_env("VPV_FEATURE_CLI");
	if (!cli)
		ksft_exit_fail_msg("VPV_FEATURE_CLI is not set: vpv-feature's path (run.sh --feature-cli)\n");
	if (access(cli, X_OK))
		ksft_exit_fail_msg("VPV_FEATURE_CLI=%s: %s\n", cli, strerror(errno));
	return test_harness_run(argc, argv);
}
