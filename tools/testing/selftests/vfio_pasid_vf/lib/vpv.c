// SPDX-License-Identifier: GPL-2.0
/*
 * Test plumbing for the vfio-pasid-vf selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <libvfio.h>

#include "kselftest.h"

#include "vpv.h"

const char *vpv_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The last component of what the symlink /sys/bus/pci/devices/@bdf/@link points at. */
static int link_base(const char *bdf, const char *link, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return snprintf(buf, len, "%s", strrchr(target, '/') + 1) < (int)len ? 0 : -ENAMETOOLONG;
}

int vpv_pf_of(const char *vf, char *pf, size_t len)
{
	int ret = link_base(vf, "physfn", pf, len);

	return ret == -ENOENT ? -ENODEV : ret;
}

const char *vpv_vf_from_args(int *argc, char *argv[], char *pf, size_t len, int *index)
{
	const char *vf = vfio_selftests_get_bdf(argc, argv);

	*index = vpv_vf_index(vf, pf, len);
	if (*index < 0)
		ksft_exit_fail_msg("%s: not a VF of an SR-IOV PF in sysfs (physfn, virtfnN): %s\n",
				   vf, strerror(-*index));
	return vf;
}

int vpv_virtfn(const char *pf, int n, char *vf, size_t len)
{
	char link[32];

	snprintf(link, sizeof(link), "virtfn%d", n);
	return link_base(pf, link, vf, len);
}

int vpv_vf_index(const char *vf, char *pf, size_t len)
{
	char bdf[32];
	int n, ret;

	ret = vpv_pf_of(vf, pf, len);
	if (ret)
		return ret;
	/* The PF has a virtfnN link for each of its enabled VFs, N = 0, 1, ... */
	for (n = 0; !vpv_virtfn(pf, n, bdf, sizeof(bdf)); n++)
		if (!strcmp(bdf, vf))
			return n;
	return -ENOENT;
}

int vpv_driver_of(const char *bdf, char *buf, size_t len)
{
	int ret = link_base(bdf, "driver", buf, len);

	if (ret == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return ret;
}

int vpv_unbind(const char *bdf)
{
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	if (access(path, F_OK) == 0) {
		ret = vpv_file_write(path, bdf);
		if (ret)
			return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	return vpv_file_write(path, "\n");
}

int vpv_bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX];
	int ret;

	ret = vpv_unbind(bdf);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	ret = vpv_file_write(path, driver);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	ret = vpv_file_write(path, bdf);
	if (ret) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
		vpv_file_write(path, "\n");
	}
	return ret;
}

int vpv_ensure_bound(const char *bdf, const char *driver)
{
	char drv[64];
	int ret = vpv_driver_of(bdf, drv, sizeof(drv));

	if (ret)
		return ret;
	return strcmp(drv, driver) ? vpv_bind(bdf, driver) : 0;
}

int vpv_feature(int fd, uint32_t flags, void *payload, size_t len)
{
	size_t argsz = sizeof(struct vfio_device_feature) + len;
	struct vfio_device_feature *f = calloc(1, argsz);
	int ret;

	if (!f)
		return -ENOMEM;
	f->argsz = argsz;
	f->flags = flags;
	if (len)
		memcpy(f->data, payload, len);
	ret = ioctl(fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0;
	if (len)
		memcpy(payload, f->data, len);
	free(f);
	return ret;
}

int vpv_vfio_cfg_rw(struct vfio_pci_device *dev, bool write, unsigned int off, void *v, size_t len)
{
	ssize_t n = write ? pwrite(dev->fd, v, len, dev->config_space.offset + off)
			  : pread(dev->fd, v, len, dev->config_space.offset + off);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int vpv_vfio_config_snapshot(const char *bdf, const char *iommu_mode, uint8_t *buf, size_t len)
{
	struct iommu *iommu = iommu_init(iommu_mode);
	struct vfio_pci_device *dev = vfio_pci_device_init(bdf, iommu);
	int ret = vpv_vfio_cfg_rw(dev, false, 0, buf, len);

	vfio_pci_device_cleanup(dev);
	iommu_cleanup(iommu);
	return ret;
}

int vpv_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	lseek(fd, 0, SEEK_END);
	return fd;
}

bool vpv_kmsg_find(int fd, const char *needle)
{
	char rec[4096];
	ssize_t n;

	/* One record per read; EAGAIN at the end, EPIPE if records were lost. */
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, needle))
			return true;
	}
	return false;
}

/* The message of a /dev/kmsg record: after "LEVEL,SEQ,TIME,FLAGS;", up to its end of line. */
static const char *kmsg_message(char *rec)
{
	char *msg = strchr(rec, ';'), *nl;

	if (!msg)
		return NULL;
	msg++;
	nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	return msg;
}

static int kmsg_count(int fd, const char *needle, bool at_start)
{
	char rec[4096];
	const char *msg, *colon, *sp;
	int n = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) > 0 || (len < 0 && errno == EPIPE)) {
		if (len <= 0)
			continue;
		rec[len] = '\0';
		msg = kmsg_message(rec);
		if (!msg)
			continue;
		if (!at_start) {
			n += !!strstr(msg, needle);
			continue;
		}
		if (!strncmp(msg, needle, strlen(needle))) {
			n++;
			continue;
		}
		/* "vfio_pasid_vf: " or "vfio-pasid-vf 0000:01:10.0: ": at most one space. */
		colon = strstr(msg, ": ");
		if (!colon)
			continue;
		sp = memchr(msg, ' ', colon - msg);
		if ((!sp || !memchr(sp + 1, ' ', colon - sp - 1)) &&
		    !strncmp(colon + 2, needle, strlen(needle)))
			n++;
	}
	return n;
}

int vpv_kmsg_count(int fd, const char *needle)
{
	return kmsg_count(fd, needle, false);
}

int vpv_kmsg_count_starting(int fd, const char *prefix)
{
	return kmsg_count(fd, prefix, true);
}

int vpv_file_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	n = n < 0 ? -errno : n;
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

int vpv_file_write(const char *path, const char *val)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static int cfg_rw(const char *bdf, unsigned int off, void *buf, size_t len, bool write)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, write ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	n = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return n;
}

int vpv_cfg_read(const char *bdf, unsigned int off, void *buf, size_t len)
{
	return cfg_rw(bdf, off, buf, len, false);
}

int vpv_cfg_write(const char *bdf, unsigned int off, const void *buf, size_t len)
{
	return cfg_rw(bdf, off, (void *)buf, len, true);
}

unsigned int vpv_ecap_find(const uint8_t *cfg, uint16_t id)
{
	unsigned int pos = 0x100, loops = (PCI_CFG_SPACE_EXP_SIZE - 0x100) / 8;
	uint32_t hdr;

	while (pos >= 0x100 && pos < PCI_CFG_SPACE_EXP_SIZE && loops--) {
		memcpy(&hdr, cfg + pos, sizeof(hdr));
		if (!hdr || hdr == ~0u)
			return 0;
		if ((hdr & 0xffff) == id)
			return pos;
		pos = (hdr >> 20) & 0xffc;
	}
	return 0;
}

uint32_t vpv_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

uint16_t vpv_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

int vpv_ecap_chain(const uint8_t *cfg, struct vpv_ecap *caps, int max)
{
	unsigned int off = 0x100;
	uint32_t hdr;
	int n = 0;

	while (off) {
		if (off < 0x100 || off > PCI_CFG_SPACE_EXP_SIZE - 4 || off % 4 || n == max)
			return -1;
		hdr = vpv_le32(cfg + off);
		if (!hdr && off == 0x100)
			return 0;
		caps[n++] = (struct vpv_ecap){ off, PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_VER(hdr) };
		off = PCI_EXT_CAP_NEXT(hdr);
	}
	return n;
}

const struct vpv_ecap *vpv_ecap_entry(const struct vpv_ecap *caps, int n, unsigned int id)
{
	int i;

	for (i = 0; i < n; i++)
		if (caps[i].id == id)
			return &caps[i];
	return NULL;
}

bool vpv_overlaps(unsigned int start, unsigned int end, const struct vpv_range *r)
{
	return start < r->end && end > r->start;
}

/*
 * The length of the VF capability at @off of the raw image @raw, from the
 * PCIe spec; for one whose length it does not fix, up to @next, the next
 * capability by address (or the end of config space).
 */
static unsigned int ecap_len(const uint8_t *raw, unsigned int off, unsigned int next)
{
	uint32_t hdr = vpv_le32(raw + off);
	unsigned int vsec;

	switch (PCI_EXT_CAP_ID(hdr)) {
	case PCI_EXT_CAP_ID_ERR:
		return 0x48;		/* through the TLP Prefix Log */
	case PCI_EXT_CAP_ID_DSN:
		return PCI_EXT_CAP_DSN_SIZEOF;
	case PCI_EXT_CAP_ID_ARI:
		return PCI_EXT_CAP_ARI_SIZEOF;
	case PCI_EXT_CAP_ID_ATS:
		return PCI_EXT_CAP_ATS_SIZEOF;
	case PCI_EXT_CAP_ID_SRIOV:
		return PCI_EXT_CAP_SRIOV_SIZEOF;
	case PCI_EXT_CAP_ID_LTR:
		return PCI_EXT_CAP_LTR_SIZEOF;
	case PCI_EXT_CAP_ID_VNDR:
		if (off + 8 <= PCI_CFG_SPACE_EXP_SIZE) {
			vsec = vpv_le32(raw + off + 4) >> 20;	/* VSEC Length */
			if (vsec >= 8)
				return vsec;
		}
		/* fallthrough */
	default:
		return next - off;
	}
}

int vpv_vf_busy(const char *vf, bool *busy)
{
	static uint8_t raw[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, len, val, id, i, next;
	char layout[8192], *line;
	struct vpv_ecap caps[64];
	int n, c, ret;

	memset(busy, 0, PCI_CFG_SPACE_EXP_SIZE / 4);
	ret = vpv_cfg_read(vf, 0, raw, sizeof(raw));
	if (ret)
		return ret;
	n = vpv_ecap_chain(raw, caps, 64);
	if (n < 0)
		return -ELOOP;
	for (c = 0; c < n; c++) {
		next = PCI_CFG_SPACE_EXP_SIZE;
		for (i = 0; i < (unsigned int)n; i++)
			if (caps[i].off > caps[c].off && caps[i].off < next)
				next = caps[i].off;
		len = ecap_len(raw, caps[c].off, next);
		for (off = caps[c].off; off < caps[c].off + len && off < PCI_CFG_SPACE_EXP_SIZE;
		     off += 4)
			busy[off / 4] = true;
	}
	for (off = 0x100; off < PCI_CFG_SPACE_EXP_SIZE; off += 4)
		if (vpv_le32(raw + off))
			busy[off / 4] = true;
	if (vpv_file_read(VPV_FIXTURE_DEBUGFS "/layout", layout, sizeof(layout)) <= 0)
		return -ENOENT;
	for (line = strtok(layout, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "vf_hidden %x %x", &off, &val) == 2 &&
		    off < PCI_CFG_SPACE_EXP_SIZE)
			busy[off / 4] = true;
		if (sscanf(line, "vf_extcap %x %x %x", &id, &off, &len) == 3)
			for (; len && off < PCI_CFG_SPACE_EXP_SIZE;
			     off += 4, len -= len < 4 ? len : 4)
				busy[off / 4] = true;
	}
	return 0;
}

unsigned int vpv_lowest_free(const bool *busy, unsigned int len, const struct vpv_range *avoid,
			     int n)
{
	unsigned int off, d;
	int a;

	for (off = 0x100; off + len <= PCI_CFG_SPACE_EXP_SIZE; off += 4) {
		for (d = off; d < off + len && !busy[d / 4]; d += 4)
			;
		for (a = 0; d == off + len && a < n; a++)
			if (vpv_overlaps(off, off + len, &avoid[a]))
				d = 0;
		if (d == off + len)
			return off;
	}
	return 0;
}

int vpv_free_room(const char *vf, const struct vpv_range *avoid, int n, unsigned int *pasid,
		  unsigned int *pri)
{
	static bool busy[PCI_CFG_SPACE_EXP_SIZE / 4];
	struct vpv_range clear[8];
	int ret;

	*pasid = *pri = 0;
	if (n < 0 || n >= (int)ARRAY_SIZE(clear))
		return -EINVAL;
	ret = vpv_vf_busy(vf, busy);
	if (ret)
		return ret;
	memcpy(clear, avoid, n * sizeof(*avoid));
	*pasid = vpv_lowest_free(busy, PCI_EXT_CAP_PASID_SIZEOF, clear, n);
	if (!*pasid)
		return -ENOSPC;
	clear[n] = (struct vpv_range){ *pasid, *pasid + PCI_EXT_CAP_PASID_SIZEOF };
	*pri = vpv_lowest_free(busy, PCI_EXT_CAP_PRI_SIZEOF, clear, n + 1);
	return *pri ? 0 : -ENOSPC;
}

int vpv_placement(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/placement", bdf);
	return vpv_file_read(path, buf, len);
}

unsigned int vpv_placed_at(const char *placement, const char *cap)
{
	char want[32];
	const char *p;

	snprintf(want, sizeof(want), "%s at 0x", cap);
	p = strstr(placement, want);
	return p ? strtoul(p + strlen(want) - 2, NULL, 16) : 0;
}

int vpv_module_unload(void)
{
	return syscall(SYS_delete_module, VPV_MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

int vpv_module_load(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

int vpv_emulated(const char *bdf, struct vpv_emulated *e)
{
	char path[PATH_MAX], buf[512], *line, *save = NULL;
	int ret;

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/emulated", bdf);
	ret = vpv_file_read(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (!strcmp(buf, "none\n"))
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "PASID %x PCI_PASID_CAP %x PCI_PASID_CTRL %x",
			   &e->pasid_off, &e->pasid_cap, &e->pasid_ctrl) == 3)
			continue;
		if (sscanf(line, "PRI %x PCI_PRI_CTRL %x PCI_PRI_STATUS %x PCI_PRI_MAX_REQ %x "
			   "PCI_PRI_ALLOC_REQ %x", &e->pri_off, &e->pri_ctrl, &e->pri_status,
			   &e->pri_max_req, &e->pri_alloc_req) == 5)
			continue;
		return -EPROTO;
	}
	return e->pasid_off || e->pri_off ? 0 : -EPROTO;
}

int vpv_fixture_fault(const char *cmd)
{
	const char *path = VPV_FIXTURE_DEBUGFS "/fault";
	char want[64], status[128];
	int i, ret, rc;

	ret = vpv_file_write(path, cmd);
	if (ret)
		return ret;
	/* "running CMD" until it ends, then "done CMD RC". */
	snprintf(want, sizeof(want), "done %s ", cmd);
	for (i = 0; i < 6000; i++) {
		ret = vpv_file_read(path, status, sizeof(status));
		if (ret < 0)
			return ret;
		if (!strncmp(status, want, strlen(want)))
			return sscanf(status + strlen(want), "%d", &rc) == 1 ? rc : -EPROTO;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int vpv_kmemleak_reports(void)
{
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen(VPV_KMEMLEAK, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			n++;
		if (n && n <= 3)
			printf("# %s", line);
	}
	fclose(f);
	return n;
}

unsigned int vpv_sysfs_hex(const char *bdf, const char *file)
{
	char path[PATH_MAX], buf[32];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, file);
	if (vpv_file_read(path, buf, sizeof(buf)) <= 0)
		return ~0u;
	return strtoul(buf, NULL, 16);
}

int vpv_iommu_pasid_width(const char *bdf)
{
	unsigned long long ecap;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu/intel-iommu/ecap", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%llx", &ecap) != 1)
		ecap = 0;
	fclose(f);
	return ((ecap >> 35) & 0x1f) + 1;
}

uint64_t vpv_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

unsigned int vpv_cap_find(const uint8_t *cfg, uint8_t id)
{
	unsigned int off = cfg[PCI_CAPABILITY_LIST] & ~3u, n;

	/* At most 48 capabilities fit in 0x40..0xff. */
	for (n = 0; off >= PCI_STD_HEADER_SIZEOF && n < 48; n++) {
		if (cfg[off] == id)
			return off;
		off = cfg[off + PCI_CAP_LIST_NEXT] & ~3u;
	}
	return 0;
}

void vpv_model_bits(struct vpv_byte_model *m, unsigned int off, unsigned int len, uint64_t fixed,
		    uint64_t var, const char *reg)
{
	unsigned int i;

	for (i = 0; i < len && off + i < PCI_CFG_SPACE_EXP_SIZE; i++)
		m[off + i] = (struct vpv_byte_model){
			.kind = VPV_BYTE_BITS, .var = var >> (8 * i), .fixed = fixed >> (8 * i),
			.reg = reg,
		};
}

void vpv_model_one_of(struct vpv_byte_model *m, unsigned int off, unsigned int len,
		      const uint8_t *vals, uint8_t n, const char *reg)
{
	unsigned int i;

	for (i = 0; i < len && off + i < PCI_CFG_SPACE_EXP_SIZE; i++)
		m[off + i] = (struct vpv_byte_model){
			.kind = VPV_BYTE_ONE_OF, .n_one_of = n, .one_of = vals, .reg = reg,
		};
}

bool vpv_model_allows(const struct vpv_byte_model *b, uint8_t v)
{
	switch (b->kind) {
	case VPV_BYTE_BITS:
		return (v & ~b->var) == b->fixed;
	case VPV_BYTE_ONE_OF:
		return memchr(b->one_of, v, b->n_one_of) != NULL;
	default:
		return true;
	}
}

int vpv_emul_expect(const char *vf, const uint8_t *cfg, struct vpv_emul_expect *x, char *why,
		    size_t len)
{
	static uint8_t pf_cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int off, n, first = 0, pf_width;
	uint32_t pf_regs;
	int ret;

	memset(x, 0, sizeof(*x));
	ret = vpv_pf_of(vf, x->pf, sizeof(x->pf));
	if (ret) {
		snprintf(why, len, "%s has no PF (physfn): %s", vf, strerror(-ret));
		return ret;
	}
	ret = vpv_cfg_read(x->pf, 0, pf_cfg, sizeof(pf_cfg));
	if (ret) {
		snprintf(why, len, "reading the config space of PF %s: %s", x->pf, strerror(-ret));
		return ret;
	}
	x->pf_pasid = vpv_ecap_find(pf_cfg, PCI_EXT_CAP_ID_PASID);
	x->pf_pri = vpv_ecap_find(pf_cfg, PCI_EXT_CAP_ID_PRI);
	if (!x->pf_pasid || !x->pf_pri) {
		snprintf(why, len, "PF %s has no PASID or no PRI capability: load the vpv_pf fixture",
			 x->pf);
		return -ENODEV;
	}
	x->pasid = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PASID);
	x->pri = vpv_ecap_find(cfg, PCI_EXT_CAP_ID_PRI);
	if (!x->pasid || !x->pri) {
		snprintf(why, len, "no %s capability in the VF's chain through VFIO",
			 x->pasid ? "PRI" : "PASID");
		return -ENOENT;
	}
	x->pasid_hdr = vpv_le32(cfg + x->pasid);
	x->pri_hdr = vpv_le32(cfg + x->pri);
	if (PCI_EXT_CAP_VER(x->pasid_hdr) != 1 || PCI_EXT_CAP_VER(x->pri_hdr) != 1) {
		snprintf(why, len, "PASID header %#010x, PRI header %#010x: Capability Version not 1",
			 x->pasid_hdr, x->pri_hdr);
		return -EPROTO;
	}

	/* The real capability that links to the first emulated one. */
	for (off = PCI_CFG_SPACE_SIZE, n = 0; off && n < 64; n++) {
		if (off == x->pasid || off == x->pri) {
			first = off;
			break;
		}
		x->link = off;
		off = PCI_EXT_CAP_NEXT(vpv_le32(cfg + off));
	}
	if (!first) {
		snprintf(why, len, "the chain does not reach the emulated capabilities");
		return -ENOENT;
	}
	if (first == PCI_CFG_SPACE_SIZE)
		x->link = 0;
	if (x->link)
		x->link_hdr = vpv_le32(cfg + x->link);

	x->exp = vpv_cap_find(cfg, PCI_CAP_ID_EXP);
	if (!x->exp) {
		snprintf(why, len, "no PCI Express capability");
		return -ENOENT;
	}
	x->vendor = vpv_sysfs_hex(vf, "vendor");
	x->device = vpv_sysfs_hex(vf, "device");

	/* PASID Capability: Exec/Priv if the PF supports and has them, width min(PF, IOMMU). */
	pf_regs = vpv_le32(pf_cfg + x->pf_pasid + PCI_PASID_CAP);
	x->pf_pasid_cap_reg = pf_regs & 0xffff;
	x->pf_pasid_ctrl_reg = pf_regs >> 16;
	pf_width = (x->pf_pasid_cap_reg >> 8) & 0x1f;
	x->iommu_width = vpv_iommu_pasid_width(vf);
	if (x->iommu_width <= 0) {
		snprintf(why, len, "no intel-iommu ecap in sysfs for %s", vf);
		return -ENOENT;
	}
	x->pasid_ctrl_rw = PCI_PASID_CTRL_ENABLE;
	if ((x->pf_pasid_cap_reg & PCI_PASID_CAP_EXEC) &&
	    (x->pf_pasid_ctrl_reg & PCI_PASID_CTRL_EXEC)) {
		x->pasid_cap |= PCI_PASID_CAP_EXEC;
		x->pasid_ctrl_rw |= PCI_PASID_CTRL_EXEC;
	}
	if ((x->pf_pasid_cap_reg & PCI_PASID_CAP_PRIV) &&
	    (x->pf_pasid_ctrl_reg & PCI_PASID_CTRL_PRIV)) {
		x->pasid_cap |= PCI_PASID_CAP_PRIV;
		x->pasid_ctrl_rw |= PCI_PASID_CTRL_PRIV;
	}
	x->pasid_cap |= (pf_width < (unsigned int)x->iommu_width ? pf_width : x->iommu_width) << 8;

	/* PRI: PASID Required is the PF's (PASID is presented), Capacity the PF's. */
	x->pri_status_ro = (vpv_le32(pf_cfg + x->pf_pri + PCI_PRI_CTRL) >> 16) & PCI_PRI_STATUS_PASID;
	x->pri_capacity = vpv_le32(pf_cfg + x->pf_pri + PCI_PRI_MAX_REQ);
	return 0;
}

void vpv_emul_model(const struct vpv_emul_expect *x, struct vpv_byte_model *m)
{
	vpv_model_bits(m, PCI_VENDOR_ID, 2, x->vendor, 0, "PCI_VENDOR_ID");
	vpv_model_bits(m, PCI_DEVICE_ID, 2, x->device, 0, "PCI_DEVICE_ID");
	if (x->link)
		vpv_model_bits(m, x->link, 4, x->link_hdr, 0, "the linking capability's header");
	vpv_model_bits(m, x->pasid, 4, x->pasid_hdr, 0, "the PASID header");
	vpv_model_bits(m, x->pasid + PCI_PASID_CAP, 2, x->pasid_cap, 0, "PCI_PASID_CAP");
	vpv_model_bits(m, x->pasid + PCI_PASID_CTRL, 2, 0, x->pasid_ctrl_rw, "PCI_PASID_CTRL");
	vpv_model_bits(m, x->pri, 4, x->pri_hdr, 0, "the PRI header");
	vpv_model_bits(m, x->pri + PCI_PRI_CTRL, 2, 0, PCI_PRI_CTRL_ENABLE, "PCI_PRI_CTRL");
	/* RF and UPRGI: nothing is attributed to a VF yet, they read 0. */
	vpv_model_bits(m, x->pri + PCI_PRI_STATUS, 2, x->pri_status_ro, PCI_PRI_STATUS_STOPPED,
		       "PCI_PRI_STATUS");
	vpv_model_bits(m, x->pri + PCI_PRI_MAX_REQ, 4, x->pri_capacity, 0, "PCI_PRI_MAX_REQ");
	vpv_model_bits(m, x->pri + PCI_PRI_ALLOC_REQ, 4, 0, 0xffffffff, "PCI_PRI_ALLOC_REQ");
}

int vpv_fixture_writes(const char *fn, struct vpv_write *w, int max, unsigned long *dropped)
{
	unsigned int off, size, val;
	char path[128], line[128];
	unsigned long d;
	int n = 0;
	FILE *f;

	*dropped = 0;
	snprintf(path, sizeof(path), VPV_FIXTURE_DEBUGFS "/writes/%s", fn);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "# dropped %lu", &d) == 1) {
			*dropped = d;
			continue;
		}
		if (sscanf(line, "%x %u %x", &off, &size, &val) != 3)
			continue;
		if (n < max)
			w[n] = (struct vpv_write){ off, size, val };
		n++;
	}
	fclose(f);
	return n;
}

int vpv_fixture_clear_writes(const char *fn)
{
	char path[128];

	snprintf(path, sizeof(path), VPV_FIXTURE_DEBUGFS "/writes/%s", fn);
	return vpv_file_write(path, "clear");
}

int vpv_fixture_writes_in(const char *fn, unsigned int start, unsigned int end)
{
	struct vpv_write w[512];
	unsigned long dropped;
	int n = vpv_fixture_writes(fn, w, ARRAY_SIZE(w), &dropped), i, in = 0;

	if (n < 0)
		return n;
	if (n > (int)ARRAY_SIZE(w) || dropped)
		return -EOVERFLOW;
	for (i = 0; i < n; i++)
		in += w[i].off < end && w[i].off + w[i].size > start;
	return in;
}

int vpv_irq_eventfd(int fd, unsigned int index)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int efd = eventfd(0, EFD_CLOEXEC);

	if (efd < 0)
		return -errno;
	*set = (struct vfio_irq_set) {
		.argsz = sizeof(buf),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
		.count = 1,
	};
	memcpy(set->data, &efd, sizeof(int));
	if (ioctl(fd, VFIO_DEVICE_SET_IRQS, set)) {
		int err = -errno;

		close(efd);
		return err;
	}
	return efd;
}

struct timespec vpv_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

double vpv_since(struct timespec t0)
{
	struct timespec t = vpv_now();

	return t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

void vpv_log_line(char log[VPV_LOG_LINES][VPV_LOG_LEN], unsigned long *n, const char *fmt, ...)
{
	unsigned long i = __atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
	va_list ap;

	if (i >= VPV_LOG_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(log[i], VPV_LOG_LEN, fmt, ap);
	va_end(ap);
}

void vpv_print_log(char log[VPV_LOG_LINES][VPV_LOG_LEN], unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n && i < VPV_LOG_LINES; i++)
		ksft_print_msg("  %s\n", log[i]);
	if (n > VPV_LOG_LINES)
		ksft_print_msg("  ... and %lu more\n", n - VPV_LOG_LINES);
}
