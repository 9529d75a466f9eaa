// SPDX-License-Identifier: GPL-2.0
/*
 * A real client: stock QEMU (10.0) assigns a VF bound to vfio-pasid-vf, and
 * the guest sees the emulated PASID and PRI extended capabilities, and what
 * it writes to them reaches the driver.
 *
 *   [VPV_QEMU=PATH] [VPV_MODULE_KO=KO] vpv_qemu_test [harness options] VF
 *                                               (or VFIO_SELFTESTS_BDF=VF)
 *
 * with the vpv_pf fixture loaded on the VF's PF with PRI enabled
 * (pri_enable=1) and the VF bound to vfio-pasid-vf.  VPV_QEMU is the QEMU to
 * run (default: qemu-system-x86_64 from PATH; the test VM sees the host's);
 * VPV_MODULE_KO is vfio_pasid_vf.ko, which the emulate=0 test
 * reloads; sysfs cannot tell either.
 *
 * Each test runs its own QEMU as a VMM runs it, by fork and exec (no shell):
 *
 *   qemu-system-x86_64 -qtest stdio -qtest-log none -accel tcg -S
 *     -display none -nodefaults -machine q35 -m 256
 *     -device vfio-pci,host=VF,addr=0x5            (legacy container), or
 *     -object iommufd,id=iommufd0
 *     -device vfio-pci,host=VF,addr=0x5,iommufd=iommufd0       (iommufd)
 *
 * and plays the guest over the qtest protocol on QEMU's stdin and stdout, a
 * line per request and per reply, each reply awaited at most
 * QEMU_REPLY_TIMEOUT seconds (QEMU_START_TIMEOUT for the first, which waits
 * for QEMU to start).  No firmware runs (-S): the test enables the q35 MCH's
 * ECAM window itself (PCIEXBAR, config 0x60/0x64 of 00:00.0 through
 * 0xcf8/0xcfc) and reaches the VF's config space, 00:05.0 in the guest, at
 * 0xb0000000 + (5 << 15) with readb/w/l and writeb/w/l.  QEMU's stderr goes
 * to a temporary file: a request after which it grew fails (that is how QEMU
 * reports a failed config access to VFIO, which the guest never sees), and it
 * is shown with every failure.  QEMU is stopped with SIGTERM (SIGKILL after
 * QEMU_EXIT_TIMEOUT seconds) and reaped; it must not have died before, must
 * exit 0 and must have said nothing about vfio.  It dies with the test
 * process (PR_SET_PDEATHSIG) if that crashes.
 *
 * QEMU holds the VF open while it runs (a VF's group and cdev can be open
 * once at a time), so each test opens the VF through VFIO itself (libvfio)
 * only while no QEMU runs, before it starts one.  The expected values come
 * from the PF's config space (sysfs), the IOMMU and that VFIO view; the
 * driver's own view of what the guest wrote is the VF's sysfs "emulated".
 * Each start of QEMU prints how long it took as a "# " line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>

#include <libvfio.h>

#include "kselftest_harness.h"
#include "lib/vpv.h"

static const char *vf_bdf, *qemu_bin, *module_ko;
static char pf_bdf[32];	/* the VF's PF (physfn) */
static int vf_index;	/* the VF's index among the PF's VFs: the fixture's "pri_event N" */

#define QEMU_START_TIMEOUT	240	/* s, to QEMU's first reply: 2-5 s (lean), 10-61 s (debug) */
#define QEMU_REPLY_TIMEOUT	30	/* s, to any other reply */
#define QEMU_EXIT_TIMEOUT	30	/* s from SIGTERM to SIGKILL */
#define TEST_TIMEOUT		600	/* s, the harness's limit for a test (two QEMU runs at most) */

/* The guest: the VF at 00:05.0, its config space in the q35 ECAM window. */
#define GUEST_DEV		5
#define ECAM_BASE		0xb0000000ull
#define GUEST_CFG(dev, off)	(ECAM_BASE + ((dev) << 15) + (off))
#define Q35_MCH_ID		0x29c08086	/* 00:00.0, Device ID 0x29c0, Intel */
#define Q35_PCIEXBAR		0x60		/* MCH config, 64 bits: base | length | enable */

#define MODULE_NAME		VPV_MODULE_NAME
#define MODULE_SYSFS		"/sys/module/" MODULE_NAME
#define PROVIDER		VPV_FIXTURE_DEBUGFS "/provider"

#define PRI_EVENT_BITS		(PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI)

/* The emulated capabilities' registers, by their linux/pci_regs.h names. */
#define PASID(s, reg)		((s)->pasid + (reg))
#define PRI(s, reg)		((s)->pri + (reg))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- QEMU over qtest --- */

enum backend { LEGACY, IOMMUFD };

static const char *const backend_name[] = { "legacy container", "iommufd" };

/* What libvfio opens the VF with for the test's own VFIO view, alongside QEMU's backend. */
static const char *const backend_mode[] = { MODE_VFIO_TYPE1V2_IOMMU, MODE_IOMMUFD };

struct qemu {
	pid_t pid;		/* 0: not started or reaped */
	int in, out;		/* its stdin (we write), its stdout (we read) */
	int err;		/* its stderr: a deleted temporary file */
	off_t err_seen;		/* the size of its stderr once it had started */
	char rbuf[1024];	/* what it wrote beyond the last line read */
	size_t rlen;
	bool died;		/* it had exited before qemu_stop() */
	int status;		/* its wait status, after qemu_stop() */
	char end[64];		/* how it ended, after qemu_stop() */
	char stderr_text[2048];	/* the start of its stderr, after qemu_stop() or on an error */
};

/* What QEMU has written to its stderr so far, into q->stderr_text (its start, if long). */
static const char *qemu_stderr(struct qemu *q)
{
	ssize_t n = q->err >= 0 ? pread(q->err, q->stderr_text, sizeof(q->stderr_text) - 1, 0) : -1;

	q->stderr_text[n > 0 ? n : 0] = '\0';
	return q->stderr_text;
}

/* How much QEMU has written to its stderr. */
static off_t qemu_stderr_size(struct qemu *q)
{
	struct stat st;

	return q->err >= 0 && !fstat(q->err, &st) ? st.st_size : 0;
}

/*
 * Reads one line from QEMU into @line (without its newline), waiting at most
 * @timeout seconds: 0, -ETIMEDOUT, -EPIPE if QEMU closed its stdout (it
 * exited), -EMSGSIZE for a line longer than @len, or another -errno.
 */
static int qemu_line(struct qemu *q, char *line, size_t len, int timeout)
{
	double deadline = now_s() + timeout;
	struct pollfd pfd = { .fd = q->out, .events = POLLIN };
	char *nl;
	ssize_t n;
	int ret;

	while (!(nl = memchr(q->rbuf, '\n', q->rlen))) {
		double left = deadline - now_s();

		if (q->rlen == sizeof(q->rbuf))
			return -EMSGSIZE;
		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		n = read(q->out, q->rbuf + q->rlen, sizeof(q->rbuf) - q->rlen);
		if (n == 0)
			return -EPIPE;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0)
			q->rlen += n;
	}
	if ((size_t)(nl - q->rbuf) >= len)
		return -EMSGSIZE;
	memcpy(line, q->rbuf, nl - q->rbuf);
	line[nl - q->rbuf] = '\0';
	q->rlen -= nl + 1 - q->rbuf;
	memmove(q->rbuf, nl + 1, q->rlen);
	return 0;
}

/*
 * Sends the qtest request @fmt... and reads its reply into @reply (without
 * "OK"): 0 if QEMU answered OK and has written nothing to its stderr since
 * it started; -EPROTO if it answered FAIL (the reply in @reply), -EIO if it
 * wrote to its stderr, else what qemu_line() returned (-EPIPE: QEMU is gone).
 */
static __attribute__((format(printf, 5, 6)))
int qemu_cmd(struct qemu *q, int timeout, char *reply, size_t len, const char *fmt, ...)
{
	char req[128], line[256];
	va_list ap;
	ssize_t n;
	int ret;

	va_start(ap, fmt);
	n = vsnprintf(req, sizeof(req) - 1, fmt, ap);
	va_end(ap);
	strcat(req, "\n");
	n++;
	if (write(q->in, req, n) != n)
		return errno == EPIPE ? -EPIPE : -EIO;
	/* Asynchronous "IRQ ..." lines come only after irq_intercept_*, which is never sent. */
	ret = qemu_line(q, line, sizeof(line), timeout);
	if (ret)
		return ret;
	if (reply) {
		const char *r = !strncmp(line, "OK", 2) ? line + 2 + !!line[2] : line;
		size_t n_r = strnlen(r, len - 1);

		memcpy(reply, r, n_r);
		reply[n_r] = '\0';
	}
	if (strncmp(line, "OK", 2))
		return -EPROTO;
	return qemu_stderr_size(q) == q->err_seen ? 0 : -EIO;
}

static const char size_char[] = { [1] = 'b', [2] = 'w', [4] = 'l' };

/* A guest read of @size bytes at physical address @addr into @v: 0 or qemu_cmd()'s error. */
static int guest_read(struct qemu *q, uint64_t addr, int size, uint32_t *v)
{
	unsigned long long val;
	char reply[64];
	int ret;

	ret = qemu_cmd(q, QEMU_REPLY_TIMEOUT, reply, sizeof(reply), "read%c 0x%llx",
		       size_char[size], (unsigned long long)addr);
	if (ret)
		return ret;
	if (sscanf(reply, "%llx", &val) != 1 || val >> (size * 8))
		return -EPROTO;
	*v = val;
	return 0;
}

/* A guest write of @size bytes of @v at physical address @addr: 0 or qemu_cmd()'s error. */
static int guest_write(struct qemu *q, uint64_t addr, int size, uint32_t v)
{
	return qemu_cmd(q, QEMU_REPLY_TIMEOUT, NULL, 0, "write%c 0x%llx 0x%x", size_char[size],
			(unsigned long long)addr, v);
}

/* The guest enables the MCH's ECAM window at ECAM_BASE, 256 MiB, as firmware does. */
static int guest_enable_ecam(struct qemu *q)
{
	static const uint32_t seq[][2] = {
		{ 0xcf8, 0x80000000 | (Q35_PCIEXBAR + 4) }, { 0xcfc, 0 },
		{ 0xcf8, 0x80000000 | Q35_PCIEXBAR }, { 0xcfc, ECAM_BASE | 1 },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(seq); i++) {
		ret = qemu_cmd(q, QEMU_REPLY_TIMEOUT, NULL, 0, "outl 0x%x 0x%x", seq[i][0], seq[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Stops QEMU, if started: SIGTERM (a clean shutdown), SIGKILL after
 * QEMU_EXIT_TIMEOUT seconds, and reaps it; closes the pipes and the stderr
 * file.  Notes in q->died whether it had exited before, in q->end how it
 * ended and in q->stderr_text what it wrote to its stderr.
 */
static void qemu_stop(struct qemu *q)
{
	double deadline = now_s() + QEMU_EXIT_TIMEOUT;
	pid_t w;

	snprintf(q->end, sizeof(q->end), "was not started");
	if (q->pid > 0) {
		w = waitpid(q->pid, &q->status, WNOHANG);
		q->died = w == q->pid;
		if (!q->died) {
			kill(q->pid, SIGTERM);
			while ((w = waitpid(q->pid, &q->status, WNOHANG)) == 0 && now_s() < deadline)
				usleep(20000);
			if (w != q->pid) {
				kill(q->pid, SIGKILL);
				waitpid(q->pid, &q->status, 0);
			}
		}
		q->pid = 0;
		if (WIFEXITED(q->status))
			snprintf(q->end, sizeof(q->end), "%s with status %d",
				 q->died ? "had exited by itself" : "exited when stopped",
				 WEXITSTATUS(q->status));
		else
			snprintf(q->end, sizeof(q->end), "%s by signal %d",
				 q->died ? "had been killed" : "was killed when stopped",
				 WTERMSIG(q->status));
	}
	if (q->in >= 0)
		close(q->in);
	if (q->out >= 0)
		close(q->out);
	q->in = q->out = -1;
	qemu_stderr(q);
	if (q->err >= 0)
		close(q->err);
	q->err = -1;
}

/*
 * Starts QEMU with the VF on @backend, waits for its first reply, enables
 * ECAM and checks that the guest sees the MCH and the VF (its Vendor and
 * Device ID as sysfs has them) where they belong.  0, or -errno with QEMU
 * stopped again and its stderr in q->stderr_text; @what says what failed.
 * Prints how long QEMU took to start.
 */
static int qemu_start(struct qemu *q, enum backend backend, const char **what)
{
	uint32_t vf_id = vpv_sysfs_hex(vf_bdf, "device") << 16 | vpv_sysfs_hex(vf_bdf, "vendor");
	char device[128], reply[64], errpath[PATH_MAX];
	const char *argv[24] = {
		qemu_bin, "-qtest", "stdio", "-qtest-log", "none", "-accel", "tcg", "-S",
		"-display", "none", "-nodefaults", "-machine", "q35", "-m", "256",
	};
	int to[2], from[2], n = 15, ret;
	pid_t parent = getpid();
	uint32_t id;
	double t0;

	memset(q, 0, sizeof(*q));
	q->in = q->out = q->err = -1;
	snprintf(device, sizeof(device), "vfio-pci,host=%s,addr=%#x%s", vf_bdf, GUEST_DEV,
		 backend == IOMMUFD ? ",iommufd=iommufd0" : "");
	if (backend == IOMMUFD) {
		argv[n++] = "-object";
		argv[n++] = "iommufd,id=iommufd0";
	}
	argv[n++] = "-device";
	argv[n++] = device;
	argv[n] = NULL;

	*what = "the temporary file for QEMU's stderr";
	snprintf(errpath, sizeof(errpath), "%s/vpv_qemu_test.XXXXXX", vpv_env("TMPDIR") ?: "/tmp");
	q->err = mkostemp(errpath, O_CLOEXEC);
	if (q->err < 0) {
		ret = -errno;
		goto fail;
	}
	unlink(errpath);
	*what = "pipes to QEMU";
	if (pipe2(to, O_CLOEXEC)) {
		ret = -errno;
		goto fail;
	}
	if (pipe2(from, O_CLOEXEC)) {
		ret = -errno;
		close(to[0]);
		close(to[1]);
		goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	t0 = now_s();
	q->pid = fork();
	if (!q->pid) {
		/* Dies with the test process: never left holding the VF. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0 || dup2(q->err, 2) < 0)
			_exit(127);
		execvp(qemu_bin, (char *const *)argv);
		dprintf(2, "execvp %s: %s\n", qemu_bin, strerror(errno));
		_exit(127);
	}
	ret = q->pid < 0 ? -errno : 0;
	if (q->pid < 0)
		q->pid = 0;
	close(to[0]);
	close(from[1]);
	q->in = to[1];
	q->out = from[0];
	*what = "fork";
	if (ret)
		goto fail;

	/*
	 * Its first reply: QEMU has started and its main loop serves qtest.
	 * What it said while starting is checked when it stops (vfio_lines()).
	 */
	*what = "QEMU's start (qtest 'endianness')";
	q->err_seen = -1;
	ret = qemu_cmd(q, QEMU_START_TIMEOUT, reply, sizeof(reply), "endianness");
	if (ret && ret != -EIO)
		goto fail;
	q->err_seen = qemu_stderr_size(q);
	ksft_print_msg("QEMU (%s) started in %.1f s\n", backend_name[backend], now_s() - t0);
	*what = "enabling ECAM (MCH PCIEXBAR)";
	ret = guest_enable_ecam(q);
	if (ret)
		goto fail;
	*what = "the guest's Vendor/Device ID of the MCH at 00:00.0 (ECAM)";
	ret = guest_read(q, GUEST_CFG(0, PCI_VENDOR_ID), 4, &id);
	if (!ret && id != Q35_MCH_ID)
		ret = -ENODEV;
	if (ret)
		goto fail;
	*what = "the guest's Vendor/Device ID of the VF at 00:05.0 (ECAM)";
	ret = guest_read(q, GUEST_CFG(GUEST_DEV, PCI_VENDOR_ID), 4, &id);
	if (!ret && id != vf_id)
		ret = -ENODEV;
	if (ret)
		goto fail;
	return 0;
fail:
	qemu_stop(q);
	return ret;
}

/* Lines of QEMU's stderr that mention vfio, into @buf ("" if none). */
static const char *vfio_lines(const char *text, char *buf, size_t len)
{
	const char *line, *end;
	size_t pos = 0;

	buf[0] = '\0';
	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		if (memmem(line, end - line, "vfio", 4) && pos < len)
			pos += snprintf(buf + pos, len - pos, "%.*s\n", (int)(end - line), line);
	}
	return buf;
}

/*
 * Stops QEMU and checks how it went: it was still running, it exited 0 on
 * SIGTERM, and its stderr mentions no vfio.
 */
static void qemu_stop_and_check(struct __test_metadata *_metadata, struct qemu *q)
{
	char lines[1024];

	if (!q->pid)
		return;
	qemu_stop(q);
	EXPECT_FALSE(q->died) TH_LOG("QEMU %s; stderr:\n%s", q->end, q->stderr_text);
	EXPECT_TRUE(WIFEXITED(q->status) && !WEXITSTATUS(q->status))
		TH_LOG("QEMU %s (SIGTERM); stderr:\n%s", q->end, q->stderr_text);
	EXPECT_STREQ("", vfio_lines(q->stderr_text, lines, sizeof(lines)))
		TH_LOG("QEMU's stderr mentions vfio");
}

/* A guest config access to the VF that must succeed; @reg names the register. */
static uint32_t guest_rd(struct __test_metadata *_metadata, struct qemu *q, unsigned int off,
			 int size, const char *reg)
{
	uint32_t v = 0;
	int ret = guest_read(q, GUEST_CFG(GUEST_DEV, off), size, &v);

	ASSERT_EQ(0, ret) TH_LOG("guest read%c of %s (%#x): %s; QEMU's stderr:\n%s",
				 size_char[size], reg, off, strerror(-ret), qemu_stderr(q));
	return v;
}

static void guest_wr(struct __test_metadata *_metadata, struct qemu *q, unsigned int off,
		     int size, uint32_t v, const char *reg)
{
	int ret = guest_write(q, GUEST_CFG(GUEST_DEV, off), size, v);

	ASSERT_EQ(0, ret) TH_LOG("guest write%c of %#x to %s (%#x): %s; QEMU's stderr:\n%s",
				 size_char[size], v, reg, off, strerror(-ret), qemu_stderr(q));
}

/* In a test of a fixture with QEMU running in self->g.q, @off named after its register. */
#define GUEST_RD(off, size)		guest_rd(_metadata, &self->g.q, off, size, #off)
#define GUEST_WR(off, size, val)	guest_wr(_metadata, &self->g.q, off, size, val, #off)

/* --- the extended capability chain --- */

struct ecap {
	unsigned int off, id, ver, next;
};

#define MAX_ECAPS ((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4)	/* 960 headers */

/* Reads the header dword at @off into @hdr: 0 or -errno. */
typedef int (*hdr_reader)(void *ctx, unsigned int off, uint32_t *hdr);

static int hdr_from_guest(void *ctx, unsigned int off, uint32_t *hdr)
{
	return guest_read(ctx, GUEST_CFG(GUEST_DEV, off), 4, hdr);
}

static int hdr_from_image(void *ctx, unsigned int off, uint32_t *hdr)
{
	*hdr = le32((const uint8_t *)ctx + off);
	return 0;
}

/*
 * Walks the extended capabilities from 0x100 into @caps (MAX_ECAPS of
 * them): the number of headers, 0 if the header at 0x100 is 0 (no extended
 * capabilities); -ELOOP if an offset comes twice, -EINVAL for a Next that is
 * not dword aligned or points below 0x100, or the reader's -errno.  *@at is
 * where it stopped.
 */
static int chain_walk(hdr_reader rd, void *ctx, struct ecap *caps, unsigned int *at)
{
	static bool seen[PCI_CFG_SPACE_EXP_SIZE / 4];
	unsigned int off = PCI_CFG_SPACE_SIZE;
	int n = 0, ret;
	uint32_t hdr;

	memset(seen, 0, sizeof(seen));
	while (off) {
		*at = off;
		if (off % 4 || off < PCI_CFG_SPACE_SIZE || off >= PCI_CFG_SPACE_EXP_SIZE)
			return -EINVAL;
		if (seen[off / 4])
			return -ELOOP;
		seen[off / 4] = true;
		ret = rd(ctx, off, &hdr);
		if (ret)
			return ret;
		if (!hdr && off == PCI_CFG_SPACE_SIZE)
			return 0;
		caps[n++] = (struct ecap){ off, PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_VER(hdr), hdr >> 20 };
		off = hdr >> 20;
	}
	return n;
}

/* The entry of @caps[@n] at @off, or NULL. */
static const struct ecap *ecap_at(const struct ecap *caps, int n, unsigned int off)
{
	int i;

	for (i = 0; i < n; i++)
		if (caps[i].off == off)
			return &caps[i];
	return NULL;
}

/* The number of entries of @caps[@n] with ID @id. */
static int ecap_count(const struct ecap *caps, int n, unsigned int id)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += caps[i].id == id;
	return c;
}

/* --- the VF, its PF and the host --- */

/* The VF as the test opens it through VFIO (libvfio, @mode): its config space. */
static int vfio_view(const char *mode, uint8_t *cfg)
{
	return vpv_vfio_config_snapshot(vf_bdf, mode, cfg, PCI_CFG_SPACE_EXP_SIZE);
}

/* Runs @argv (no shell) and waits for it: its exit status, or -errno. */
static int run(const char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (!pid) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* vfio-pci's driver is there, loading its module if it is one: 0 or -ENODEV. */
static int vfio_pci_available(void)
{
	const char *path = "/sys/bus/pci/drivers/" VFIO_PCI_DRIVER;

	if (access(path, F_OK))
		run((const char *const[]){ "modprobe", "vfio-pci", NULL });
	return access(path, F_OK) ? -ENODEV : 0;
}

/* The module's emulate parameter, 'Y' or 'N'; 0 if the module is not loaded. */
static char module_emulate(void)
{
	char buf[8];

	return vpv_file_read(MODULE_SYSFS "/parameters/emulate", buf, sizeof(buf)) > 0 ? buf[0] : 0;
}

/* --- the guest with a VF bound to vfio-pasid-vf --- */

/*
 * The state a test starts from: the PF's config space (sysfs), the VF's
 * through the test's own VFIO open with its emulated capabilities, and QEMU
 * running with the VF.
 */
struct guest {
	struct qemu q;
	uint8_t pf_cfg[PCI_CFG_SPACE_EXP_SIZE];
	uint8_t vfio_cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pf_pasid, pf_pri;	/* the PF's capabilities */
	unsigned int pasid, pri;	/* the VF's emulated ones in vfio_cfg */
};

static void start_guest(struct __test_metadata *_metadata, struct guest *self,
			enum backend backend)
{
	const char *what;
	int ret;

	ASSERT_EQ(0, vpv_cfg_read(pf_bdf, 0, self->pf_cfg, sizeof(self->pf_cfg)));
	self->pf_pasid = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PASID);
	self->pf_pri = vpv_ecap_find(self->pf_cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_TRUE(self->pf_pasid && self->pf_pri)
		TH_LOG("PF %s has no PASID or no PRI capability: load the vpv_pf fixture on it",
		       pf_bdf);
	ASSERT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER)) TH_LOG("binding %s to " VPV_DRIVER, vf_bdf);
	ASSERT_EQ(0, vfio_view(backend_mode[backend], self->vfio_cfg));
	self->pasid = vpv_ecap_find(self->vfio_cfg, PCI_EXT_CAP_ID_PASID);
	self->pri = vpv_ecap_find(self->vfio_cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_TRUE(self->pasid && self->pri)
		TH_LOG("the VF's own VFIO open presents PASID at %#x, PRI at %#x (0: not at all)",
		       self->pasid, self->pri);
	/* Last: nothing after it may fail, or QEMU would outlive the setup. */
	ret = qemu_start(&self->q, backend, &what);
	ASSERT_EQ(0, ret) TH_LOG("starting QEMU (%s): %s: %s; QEMU %s; its stderr:\n%s",
				 backend_name[backend], what, strerror(-ret), self->q.end,
				 self->q.stderr_text);
}

/*
 * The guest's chain holds PASID and PRI once each, at the offsets the VF's
 * placement names for QEMU's open, with the ID and Version of the VF's
 * capabilities through VFIO.
 */
static void chain_holds_pasid_and_pri_at_the_placement(struct __test_metadata *_metadata,
						       struct guest *self)
{
	static const struct {
		const char *name;
		unsigned int id;
	} caps[] = { { "PASID", PCI_EXT_CAP_ID_PASID }, { "PRI", PCI_EXT_CAP_ID_PRI } };
	static struct ecap chain[MAX_ECAPS];
	const struct ecap *e;
	char placement[512];
	unsigned int i, off, at;
	uint32_t vfio_hdr;
	int n;

	n = chain_walk(hdr_from_guest, &self->q, chain, &at);
	ASSERT_LT(0, n) TH_LOG("the guest's chain from 0x100: %s at %#x; QEMU's stderr:\n%s",
			       n ? strerror(-n) : "empty", at, qemu_stderr(&self->q));
	for (i = 0; i < (unsigned int)n; i++)
		ksft_print_msg("guest's chain: %#05x ID %#04x version %u\n", chain[i].off, chain[i].id,
			       chain[i].ver);
	ASSERT_LT(0, vpv_placement(vf_bdf, placement, sizeof(placement)));
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		off = vpv_placed_at(placement, caps[i].name);
		ASSERT_NE(0, off) TH_LOG("%s not placed for QEMU's open: %s", caps[i].name, placement);
		EXPECT_EQ(i ? self->pri : self->pasid, off)
			TH_LOG("%s: at %#x for the test's own VFIO open, at %#x for QEMU's (placement)",
			       caps[i].name, i ? self->pri : self->pasid, off);
		EXPECT_EQ(1, ecap_count(chain, n, caps[i].id))
			TH_LOG("%s capabilities in the guest's chain", caps[i].name);
		e = ecap_at(chain, n, off);
		EXPECT_NE(NULL, e) TH_LOG("no capability at %#x (%s) in the guest's chain; placement: %s",
					  off, caps[i].name, placement);
		if (!e)
			continue;
		vfio_hdr = le32(self->vfio_cfg + off);
		EXPECT_EQ(caps[i].id, e->id) TH_LOG("ID of the guest's capability at %#x", off);
		EXPECT_EQ(PCI_EXT_CAP_ID(vfio_hdr), e->id)
			TH_LOG("ID at %#x: guest vs the VF through VFIO", off);
		EXPECT_EQ(PCI_EXT_CAP_VER(vfio_hdr), e->ver)
			TH_LOG("%s Version at %#x: guest vs the VF through VFIO", caps[i].name, off);
	}
}

FIXTURE(guest) {
	struct guest g;
};

FIXTURE_SETUP(guest)
{
	start_guest(_metadata, &self->g, LEGACY);
}

FIXTURE_TEARDOWN(guest)
{
	qemu_stop_and_check(_metadata, &self->g.q);
}

/* The chain */

TEST_F_TIMEOUT(guest, guest_ext_chain_holds_pasid_and_pri_at_the_placement, TEST_TIMEOUT)
{
	chain_holds_pasid_and_pri_at_the_placement(_metadata, &self->g);
}

TEST_F_TIMEOUT(guest, guest_ext_chain_ends, TEST_TIMEOUT)
{
	static struct ecap chain[MAX_ECAPS];
	unsigned int at;
	int n = chain_walk(hdr_from_guest, &self->g.q, chain, &at);

	/* No offset twice: then it ends (Next 0) within MAX_ECAPS headers. */
	ASSERT_NE(-ELOOP, n) TH_LOG("the guest's chain comes back to %#x", at);
	ASSERT_NE(-EINVAL, n) TH_LOG("the guest's chain goes to %#x", at);
	ASSERT_LE(0, n) TH_LOG("the guest's chain at %#x: %s; QEMU's stderr:\n%s", at, strerror(-n),
			       qemu_stderr(&self->g.q));
	ASSERT_LT(0, n) TH_LOG("the guest sees no extended capability");
}

/* The registers a guest finds, from the PF */

/*
 * PASID Capability: Exec and Priv if the PF supports them and the host
 * enabled them on the PF, Max PASID Width the PF's or the IOMMU's if
 * smaller; PRI Status: Stopped (disabled), PRG Response PASID Required the
 * PF's; Outstanding Page Request Capacity the PF's.  The guest reads what
 * the test's own VFIO open read.
 */
TEST_F_TIMEOUT(guest, guest_pasid_cap_and_pri_status_and_max_req_come_from_the_pf, TEST_TIMEOUT)
{
	struct guest *g = &self->g;
	uint32_t pf_pasid = le32(g->pf_cfg + g->pf_pasid + PCI_PASID_CAP);
	uint16_t pf_cap = pf_pasid & 0xffff, pf_ctrl = pf_pasid >> 16;
	uint16_t pf_status = le32(g->pf_cfg + g->pf_pri + PCI_PRI_CTRL) >> 16;
	uint32_t pf_max_req = le32(g->pf_cfg + g->pf_pri + PCI_PRI_MAX_REQ);
	int pf_width = (pf_cap >> 8) & 0x1f, iommu_width = vpv_iommu_pasid_width(vf_bdf);
	uint16_t want_cap = 0;
	uint16_t want_status = PCI_PRI_STATUS_STOPPED | (pf_status & PCI_PRI_STATUS_PASID);

	ASSERT_GT(iommu_width, 0) TH_LOG("no intel-iommu ecap in sysfs for %s", vf_bdf);
	if ((pf_cap & PCI_PASID_CAP_EXEC) && (pf_ctrl & PCI_PASID_CTRL_EXEC))
		want_cap |= PCI_PASID_CAP_EXEC;
	if ((pf_cap & PCI_PASID_CAP_PRIV) && (pf_ctrl & PCI_PASID_CTRL_PRIV))
		want_cap |= PCI_PASID_CAP_PRIV;
	want_cap |= (pf_width < iommu_width ? pf_width : iommu_width) << 8;

	EXPECT_EQ(want_cap, GUEST_RD(PASID(g, PCI_PASID_CAP), 2))
		TH_LOG("PF cap %#x ctrl %#x, IOMMU width %d", pf_cap, pf_ctrl, iommu_width);
	EXPECT_EQ(le32(g->vfio_cfg + PASID(g, PCI_PASID_CAP)) & 0xffff,
		  GUEST_RD(PASID(g, PCI_PASID_CAP), 2)) TH_LOG("guest vs the VF through VFIO");
	EXPECT_EQ(want_status, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2)) TH_LOG("the PF's is %#x", pf_status);
	EXPECT_EQ(le32(g->vfio_cfg + PRI(g, PCI_PRI_CTRL)) >> 16, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2))
		TH_LOG("guest vs the VF through VFIO");
	EXPECT_EQ(pf_max_req, GUEST_RD(PRI(g, PCI_PRI_MAX_REQ), 4)) TH_LOG("guest vs the PF");
	EXPECT_EQ(le32(g->vfio_cfg + PRI(g, PCI_PRI_MAX_REQ)), GUEST_RD(PRI(g, PCI_PRI_MAX_REQ), 4))
		TH_LOG("guest vs the VF through VFIO");
}

/* What the guest writes, in the driver */

/* The driver's view of the open (the VF's sysfs "emulated"). */
static struct vpv_emulated emulated(struct __test_metadata *_metadata)
{
	struct vpv_emulated e;
	int ret = vpv_emulated(vf_bdf, &e);

	ASSERT_EQ(0, ret) TH_LOG("the VF's emulated attribute: %s", strerror(-ret));
	return e;
}

TEST_F_TIMEOUT(guest, guest_pasid_ctrl_write_lands_in_the_driver, TEST_TIMEOUT)
{
	struct guest *g = &self->g;
	uint16_t cap = GUEST_RD(PASID(g, PCI_PASID_CAP), 2), want = PCI_PASID_CTRL_ENABLE;

	if (cap & PCI_PASID_CAP_EXEC)
		want |= PCI_PASID_CTRL_EXEC;
	if (cap & PCI_PASID_CAP_PRIV)
		want |= PCI_PASID_CTRL_PRIV;
	ASSERT_EQ(0, GUEST_RD(PASID(g, PCI_PASID_CTRL), 2)) TH_LOG("PCI_PASID_CTRL at QEMU's start");

	GUEST_WR(PASID(g, PCI_PASID_CTRL), 2, want);
	EXPECT_EQ(want, GUEST_RD(PASID(g, PCI_PASID_CTRL), 2)) TH_LOG("PCI_PASID_CTRL, guest");
	EXPECT_EQ(want, emulated(_metadata).pasid_ctrl) TH_LOG("PCI_PASID_CTRL, driver");

	GUEST_WR(PASID(g, PCI_PASID_CTRL), 2, 0);
	EXPECT_EQ(0, GUEST_RD(PASID(g, PCI_PASID_CTRL), 2)) TH_LOG("PCI_PASID_CTRL, guest");
	EXPECT_EQ(0, emulated(_metadata).pasid_ctrl) TH_LOG("PCI_PASID_CTRL, driver");
}

TEST_F_TIMEOUT(guest, guest_pasid_cap_is_read_only, TEST_TIMEOUT)
{
	struct guest *g = &self->g;
	uint16_t cap = GUEST_RD(PASID(g, PCI_PASID_CAP), 2);

	GUEST_WR(PASID(g, PCI_PASID_CAP), 2, (uint16_t)~cap);
	EXPECT_EQ(cap, GUEST_RD(PASID(g, PCI_PASID_CAP), 2)) TH_LOG("PCI_PASID_CAP, guest");
	EXPECT_EQ(cap, emulated(_metadata).pasid_cap) TH_LOG("PCI_PASID_CAP, driver");
}

TEST_F_TIMEOUT(guest, guest_pri_ctrl_enable_lands_in_the_driver, TEST_TIMEOUT)
{
	struct guest *g = &self->g;

	ASSERT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_CTRL), 2)) TH_LOG("PCI_PRI_CTRL at QEMU's start");

	GUEST_WR(PRI(g, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, GUEST_RD(PRI(g, PCI_PRI_CTRL), 2)) TH_LOG("PCI_PRI_CTRL, guest");
	EXPECT_EQ(PCI_PRI_CTRL_ENABLE, emulated(_metadata).pri_ctrl) TH_LOG("PCI_PRI_CTRL, driver");

	GUEST_WR(PRI(g, PCI_PRI_CTRL), 2, 0);
	EXPECT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_CTRL), 2)) TH_LOG("PCI_PRI_CTRL, guest");
	EXPECT_EQ(0, emulated(_metadata).pri_ctrl) TH_LOG("PCI_PRI_CTRL, driver");
}

TEST_F_TIMEOUT(guest, guest_pri_alloc_req_write_lands_in_the_driver, TEST_TIMEOUT)
{
	struct guest *g = &self->g;

	ASSERT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_ALLOC_REQ), 4)) TH_LOG("PCI_PRI_ALLOC_REQ at QEMU's start");

	GUEST_WR(PRI(g, PCI_PRI_ALLOC_REQ), 4, 0x12345678);
	EXPECT_EQ(0x12345678, GUEST_RD(PRI(g, PCI_PRI_ALLOC_REQ), 4)) TH_LOG("PCI_PRI_ALLOC_REQ, guest");
	EXPECT_EQ(0x12345678, emulated(_metadata).pri_alloc_req) TH_LOG("PCI_PRI_ALLOC_REQ, driver");
}

TEST_F_TIMEOUT(guest, guest_pri_status_stopped_is_0_while_enabled_and_1_while_disabled, TEST_TIMEOUT)
{
	struct guest *g = &self->g;

	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED at QEMU's start, guest");
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, emulated(_metadata).pri_status & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED at QEMU's start, driver");

	GUEST_WR(PRI(g, PCI_PRI_CTRL), 2, PCI_PRI_CTRL_ENABLE);
	EXPECT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED while enabled, guest");
	EXPECT_EQ(0, emulated(_metadata).pri_status & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED while enabled, driver");

	GUEST_WR(PRI(g, PCI_PRI_CTRL), 2, 0);
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED disabled again, guest");
	EXPECT_EQ(PCI_PRI_STATUS_STOPPED, emulated(_metadata).pri_status & PCI_PRI_STATUS_STOPPED)
		TH_LOG("PCI_PRI_STATUS_STOPPED disabled again, driver");
}

/*
 * Response Failure, latched from the host side (the PF's driver attributes a
 * page request event to the VF: the fixture's vpv_pf_pri_event()), is RW1C
 * for the guest.  The driver delivers such an event to the VF's open
 * whether or not the PF's driver is a registered provider (pf.rs,
 * pri_event()), and the fixture makes the call registered or not.
 */
TEST_F_TIMEOUT(guest, guest_pri_status_rf_is_rw1c, TEST_TIMEOUT)
{
	struct guest *g = &self->g;
	char cmd[64];
	int ret;

	ASSERT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF/UPRGI at QEMU's start");
	snprintf(cmd, sizeof(cmd), "pri_event %d 0x%x", vf_index, PCI_PRI_STATUS_RF);
	ret = vpv_file_write(PROVIDER, cmd);
	ASSERT_EQ(0, ret) TH_LOG("%s > %s: %s", cmd, PROVIDER, strerror(-ret));
	EXPECT_EQ(PCI_PRI_STATUS_RF, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after the event, guest");
	EXPECT_EQ(PCI_PRI_STATUS_RF, emulated(_metadata).pri_status & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after the event, driver");

	GUEST_WR(PRI(g, PCI_PRI_STATUS), 2, 0);
	EXPECT_EQ(PCI_PRI_STATUS_RF, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after writing 0, guest");
	EXPECT_EQ(PCI_PRI_STATUS_RF, emulated(_metadata).pri_status & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after writing 0, driver");

	GUEST_WR(PRI(g, PCI_PRI_STATUS), 2, PCI_PRI_STATUS_RF);
	EXPECT_EQ(0, GUEST_RD(PRI(g, PCI_PRI_STATUS), 2) & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after writing 1, guest");
	EXPECT_EQ(0, emulated(_metadata).pri_status & PRI_EVENT_BITS)
		TH_LOG("PCI_PRI_STATUS_RF after writing 1, driver");
}

TEST_F_TIMEOUT(guest, guest_pri_max_req_is_read_only, TEST_TIMEOUT)
{
	struct guest *g = &self->g;
	uint32_t max_req = GUEST_RD(PRI(g, PCI_PRI_MAX_REQ), 4);

	GUEST_WR(PRI(g, PCI_PRI_MAX_REQ), 4, ~max_req);
	EXPECT_EQ(max_req, GUEST_RD(PRI(g, PCI_PRI_MAX_REQ), 4)) TH_LOG("PCI_PRI_MAX_REQ, guest");
	EXPECT_EQ(max_req, emulated(_metadata).pri_max_req) TH_LOG("PCI_PRI_MAX_REQ, driver");
}

/* The iommufd backend: the same chain */

FIXTURE(guest_iommufd) {
	struct guest g;
};

FIXTURE_SETUP(guest_iommufd)
{
	start_guest(_metadata, &self->g, IOMMUFD);
}

FIXTURE_TEARDOWN(guest_iommufd)
{
	qemu_stop_and_check(_metadata, &self->g.q);
}

TEST_F_TIMEOUT(guest_iommufd, guest_ext_chain_holds_pasid_and_pri_at_the_placement, TEST_TIMEOUT)
{
	chain_holds_pasid_and_pri_at_the_placement(_metadata, &self->g);
}

/* --- the guest's view against vfio-pci's --- */

/*
 * Runs QEMU with the VF on the legacy backend and reads its config space as
 * the guest sees it, a dword at a time, into @cfg; stops QEMU before it
 * returns, whatever happened, and checks how QEMU went.
 */
static void guest_dump(struct __test_metadata *_metadata, const char *label, uint8_t *cfg)
{
	const char *what = "";
	struct qemu q;
	unsigned int off;
	uint32_t v;
	int ret;

	ret = qemu_start(&q, LEGACY, &what);
	ASSERT_EQ(0, ret) TH_LOG("%s: starting QEMU: %s: %s; QEMU %s; its stderr:\n%s", label,
				 what, strerror(-ret), q.end, q.stderr_text);
	for (off = 0; !ret && off < PCI_CFG_SPACE_EXP_SIZE; off += 4) {
		ret = guest_read(&q, GUEST_CFG(GUEST_DEV, off), 4, &v);
		memcpy(cfg + off, &v, 4);
	}
	if (ret)
		qemu_stderr(&q);
	qemu_stop_and_check(_metadata, &q);
	ASSERT_EQ(0, ret) TH_LOG("%s: guest readl at %#x: %s; QEMU's stderr:\n%s", label, off - 4,
				 strerror(-ret), q.stderr_text);
}

/* The VF bound to vfio-pci, then its guest view. */
static void guest_dump_under_vfio_pci(struct __test_metadata *_metadata, uint8_t *cfg)
{
	ASSERT_EQ(0, vfio_pci_available()) TH_LOG("no " VFIO_PCI_DRIVER " driver, not even after modprobe");
	ASSERT_EQ(0, vpv_bind(vf_bdf, VFIO_PCI_DRIVER)) TH_LOG("binding %s to " VFIO_PCI_DRIVER, vf_bdf);
	guest_dump(_metadata, "under " VFIO_PCI_DRIVER, cfg);
}

/* Compares two guest dumps byte for byte, except @skip: the number of bytes that differ. */
static int dump_diffs(struct __test_metadata *_metadata, const uint8_t *a, const char *a_name,
		      const uint8_t *b, const char *b_name, bool (*skip)(void *, unsigned int, uint8_t *),
		      void *ctx)
{
	unsigned int off;
	int diffs = 0;
	uint8_t mask;

	for (off = 0; off < PCI_CFG_SPACE_EXP_SIZE; off++) {
		mask = 0xff;
		if (skip && skip(ctx, off, &mask))
			continue;
		if (!((a[off] ^ b[off]) & mask))
			continue;
		if (diffs++ < 16)
			TH_LOG("%#05x: %s %#04x, %s %#04x%s", off, a_name, a[off], b_name, b[off],
			       mask != 0xff ? " (bits 3:0 compared)" : "");
	}
	return diffs;
}

/* What the comparison with vfio-pci leaves out. */
struct exempt {
	struct {
		unsigned int start, end;
	} ranges[2];			/* PASID and PRI */
	unsigned int next_of[8];	/* headers whose Next links to PASID or PRI */
	int n_next;
};

/* Whether byte @off is left out: inside PASID or PRI, or the Next of a linking header (bits 31:20). */
static bool exempted(void *ctx, unsigned int off, uint8_t *mask)
{
	const struct exempt *x = ctx;
	int i;

	for (i = 0; i < 2; i++)
		if (off >= x->ranges[i].start && off < x->ranges[i].end)
			return true;
	for (i = 0; i < x->n_next; i++) {
		if (off == x->next_of[i] + 3)
			return true;
		if (off == x->next_of[i] + 2)
			*mask = 0x0f;
	}
	return false;
}

/* Adds to @x the headers of @chain[@n] that link to PASID or PRI and are neither. */
static void exempt_linkers(struct exempt *x, const struct ecap *chain, int n, unsigned int pasid,
			   unsigned int pri)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (chain[i].off == pasid || chain[i].off == pri)
			continue;
		if (chain[i].next != pasid && chain[i].next != pri)
			continue;
		for (j = 0; j < x->n_next && x->next_of[j] != chain[i].off; j++)
			;
		if (j == x->n_next && x->n_next < (int)ARRAY_SIZE(x->next_of))
			x->next_of[x->n_next++] = chain[i].off;
	}
}

FIXTURE(vfio_pci) {
	uint8_t vfio_cfg[PCI_CFG_SPACE_EXP_SIZE];	/* the VF through VFIO under vfio-pasid-vf */
	uint8_t under_vpv[PCI_CFG_SPACE_EXP_SIZE];	/* the guest's view, under vfio-pasid-vf */
	uint8_t under_vfio_pci[PCI_CFG_SPACE_EXP_SIZE];	/* the guest's view, under vfio-pci */
};

FIXTURE_SETUP(vfio_pci)
{
	ASSERT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER)) TH_LOG("binding %s to " VPV_DRIVER, vf_bdf);
}

/*
 * In the parent of the test process, so even if it crashes: the module back
 * with its default parameters, the VF bound to vfio-pasid-vf.  A QEMU of a
 * crashed test dies with it; an unbind waits for its close.
 */
FIXTURE_TEARDOWN_PARENT(vfio_pci)
{
	if (module_emulate() != 'Y') {
		EXPECT_EQ(0, vpv_unbind(vf_bdf)) TH_LOG("unbinding %s", vf_bdf);
		if (module_emulate()) {
			EXPECT_EQ(0, vpv_module_unload()) TH_LOG("rmmod " MODULE_NAME);
		}
		EXPECT_NE(NULL, module_ko) TH_LOG("VPV_MODULE_KO is not set: cannot load the module back");
		if (module_ko) {
			EXPECT_EQ(0, vpv_module_load(module_ko, "")) TH_LOG("insmod %s", module_ko);
		}
	}
	EXPECT_EQ(0, vpv_ensure_bound(vf_bdf, VPV_DRIVER)) TH_LOG("binding %s back to " VPV_DRIVER, vf_bdf);
}

/*
 * The guest's view under vfio-pasid-vf is its view under vfio-pci plus PASID
 * and PRI: the same chain once they are taken out, and the same bytes
 * everywhere but in them and in the Next of the headers that link to them:
 * the one in the guest's chain (QEMU rebuilds the chain) and the one in the
 * VF's chain through VFIO (the driver patches it; QEMU leaves the header of a
 * capability it drops, ARI for one, as it reads through VFIO, Next included).
 * No register is masked: -S keeps the guest from changing any.
 */
TEST_F_TIMEOUT(vfio_pci, guest_view_equals_vfio_pci_minus_pasid_and_pri, TEST_TIMEOUT)
{
	static struct ecap vpv_chain[MAX_ECAPS], vfio_pci_chain[MAX_ECAPS], vfio_chain[MAX_ECAPS];
	unsigned int pasid, pri, at;
	struct exempt x = { .n_next = 0 };
	int n_vpv, n_vfio_pci, n_vfio, i, j, diffs;

	ASSERT_EQ(0, vfio_view(MODE_VFIO_TYPE1V2_IOMMU, self->vfio_cfg));
	pasid = vpv_ecap_find(self->vfio_cfg, PCI_EXT_CAP_ID_PASID);
	pri = vpv_ecap_find(self->vfio_cfg, PCI_EXT_CAP_ID_PRI);
	ASSERT_TRUE(pasid && pri) TH_LOG("the VF's own VFIO open presents PASID at %#x, PRI at %#x",
					 pasid, pri);
	guest_dump(_metadata, "under " VPV_DRIVER, self->under_vpv);
	guest_dump_under_vfio_pci(_metadata, self->under_vfio_pci);

	n_vpv = chain_walk(hdr_from_image, self->under_vpv, vpv_chain, &at);
	ASSERT_LT(0, n_vpv) TH_LOG("the guest's chain under " VPV_DRIVER " at %#x", at);
	n_vfio_pci = chain_walk(hdr_from_image, self->under_vfio_pci, vfio_pci_chain, &at);
	ASSERT_LE(0, n_vfio_pci) TH_LOG("the guest's chain under " VFIO_PCI_DRIVER " at %#x", at);
	n_vfio = chain_walk(hdr_from_image, self->vfio_cfg, vfio_chain, &at);
	ASSERT_LT(0, n_vfio) TH_LOG("the VF's chain through VFIO at %#x", at);

	/* The chains: (offset, ID, Version) in order, PASID and PRI taken out. */
	for (i = j = 0; i < n_vpv; i++) {
		if (vpv_chain[i].off == pasid || vpv_chain[i].off == pri)
			continue;
		ASSERT_LT(j, n_vfio_pci)
			TH_LOG("capability %#x at %#x: not in the guest's chain under " VFIO_PCI_DRIVER,
			       vpv_chain[i].id, vpv_chain[i].off);
		EXPECT_TRUE(vpv_chain[i].off == vfio_pci_chain[j].off &&
			    vpv_chain[i].id == vfio_pci_chain[j].id &&
			    vpv_chain[i].ver == vfio_pci_chain[j].ver)
			TH_LOG("capability %d of the guest's chain: %#x v%u at %#x, under " VFIO_PCI_DRIVER
			       " %#x v%u at %#x", j, vpv_chain[i].id, vpv_chain[i].ver, vpv_chain[i].off,
			       vfio_pci_chain[j].id, vfio_pci_chain[j].ver, vfio_pci_chain[j].off);
		j++;
	}
	EXPECT_EQ(n_vfio_pci, j) TH_LOG("capabilities in the guest's chain under " VFIO_PCI_DRIVER);

	/* The bytes. */
	x.ranges[0].start = pasid;
	x.ranges[0].end = pasid + PCI_EXT_CAP_PASID_SIZEOF;
	x.ranges[1].start = pri;
	x.ranges[1].end = pri + PCI_EXT_CAP_PRI_SIZEOF;
	exempt_linkers(&x, vpv_chain, n_vpv, pasid, pri);
	exempt_linkers(&x, vfio_chain, n_vfio, pasid, pri);
	for (i = 0; i < x.n_next; i++)
		ksft_print_msg("Next of the header at %#x links to PASID/PRI: left out (%s chain)\n",
			       x.next_of[i], ecap_at(vpv_chain, n_vpv, x.next_of[i]) ? "the guest's" :
			       "the VF's VFIO");
	diffs = dump_diffs(_metadata, self->under_vpv, VPV_DRIVER, self->under_vfio_pci,
			   VFIO_PCI_DRIVER, exempted, &x);
	EXPECT_EQ(0, diffs) TH_LOG("%d bytes of the guest's view differ outside PASID (%#x), PRI (%#x) "
				   "and the Next of the headers linking to them", diffs, pasid, pri);
}

/* emulate=0: the guest's view is vfio-pci's, every byte of it. */
TEST_F_TIMEOUT(vfio_pci, emulate_off_guest_view_equals_vfio_pci, TEST_TIMEOUT)
{
	int ret, diffs;

	ASSERT_NE(NULL, module_ko) TH_LOG("VPV_MODULE_KO (vfio_pasid_vf.ko) is not set");
	ASSERT_EQ(0, access(module_ko, R_OK)) TH_LOG("%s: %s", module_ko, strerror(errno));
	ASSERT_EQ(0, vpv_unbind(vf_bdf)) TH_LOG("unbinding %s", vf_bdf);
	ret = vpv_module_unload();
	ASSERT_EQ(0, ret) TH_LOG("rmmod " MODULE_NAME ": %s", strerror(-ret));
	ret = vpv_module_load(module_ko, "emulate=0");
	ASSERT_EQ(0, ret) TH_LOG("insmod %s emulate=0: %s", module_ko, strerror(-ret));
	ASSERT_EQ('N', module_emulate());
	ASSERT_EQ(0, vpv_bind(vf_bdf, VPV_DRIVER)) TH_LOG("binding %s to " VPV_DRIVER, vf_bdf);

	guest_dump(_metadata, "under " VPV_DRIVER " emulate=0", self->under_vpv);
	guest_dump_under_vfio_pci(_metadata, self->under_vfio_pci);
	diffs = dump_diffs(_metadata, self->under_vpv, VPV_DRIVER " emulate=0", self->under_vfio_pci,
			   VFIO_PCI_DRIVER, NULL, NULL);
	EXPECT_EQ(0, diffs) TH_LOG("%d bytes of the guest's view differ", diffs);
}

int main(int argc, char *argv[])
{
	vf_bdf = vpv_vf_from_args(&argc, argv, pf_bdf, sizeof(pf_bdf), &vf_index);
	qemu_bin = vpv_env("VPV_QEMU") ?: "qemu-system-x86_64";
	module_ko = vpv_env("VPV_MODULE_KO");
	/* A write to a QEMU that died fails with EPIPE instead of killing the test. */
	signal(SIGPIPE, SIG_IGN);
	return test_harness_run(argc, argv);
}
