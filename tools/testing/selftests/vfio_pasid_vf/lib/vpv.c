// SPDX-License-Identifier: GPL-2.0
/*
 * Test plumbing for the vfio-pasid-vf selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int vpv_placement(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio_pasid_vf/placement", bdf);
	return vpv_file_read(path, buf, len);
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
