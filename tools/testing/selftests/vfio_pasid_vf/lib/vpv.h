/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test plumbing for the vfio-pasid-vf selftests: what sysfs says about a VF,
 * binding through driver_override, config space, the kernel log, the vpv_pf
 * fixture, and the IOMMU-mode variants of the tests that open a VF.
 */
#ifndef VPV_SELFTEST_H
#define VPV_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VPV_DRIVER "vfio-pasid-vf"
#define VFIO_PCI_DRIVER "vfio-pci"
#define PCI_CFG_SPACE_EXP_SIZE 4096

/*
 * A setting of the VM harness (run.sh) that sysfs cannot tell: the path of
 * a .ko to load, the parameters a module was loaded with, a function that the
 * tests may unbind.  NULL if the variable is unset or empty.  Every device a
 * test is about comes from the command line or VFIO_SELFTESTS_BDF
 * (vfio_selftests_get_bdf()); what follows from it comes from sysfs (below).
 */
const char *vpv_env(const char *name);

/*
 * The PF of the SR-IOV VF @vf (its physfn link), written to @pf.  0, or
 * -ENODEV if @vf is not a VF, or another -errno.
 */
int vpv_pf_of(const char *vf, char *pf, size_t len);

/*
 * The PF of the SR-IOV VF @vf, written to @pf, and @vf's index among the
 * PF's VFs: the N of the PF's virtfnN link that points at @vf (the vpv_pf
 * fixture names its write logs and fault targets by it).  The index, or
 * -ENODEV if @vf is not a VF, -ENOENT if no virtfnN link points at it.
 */
int vpv_vf_index(const char *vf, char *pf, size_t len);

/*
 * For a test's main(): the VF named on the command line (or in
 * VFIO_SELFTESTS_BDF, vfio_selftests_get_bdf()), its PF written to @pf and its
 * index among the PF's VFs to @index; exits the test program with a failure if
 * it is not a VF of an SR-IOV PF in sysfs.
 */
const char *vpv_vf_from_args(int *argc, char *argv[], char *pf, size_t len, int *index);

/* VF number @n of @pf (its virtfnN link), written to @vf.  0 or -errno. */
int vpv_virtfn(const char *pf, int n, char *vf, size_t len);

/*
 * One variant of a FIXTURE per IOMMU mode of libvfio, as
 * tools/testing/selftests/vfio does: FIXTURE_VARIANT_ADD_ALL_IOMMU_MODES(f)
 * after FIXTURE_VARIANT(f) { const char *iommu_mode; }.  Each variant is
 * named after its mode (vfio_type1_iommu, ..., iommufd), so that run.sh can
 * leave modes out with the harness's -V.
 */
#define FIXTURE_VARIANT_ADD_IOMMU_MODE(_mode, _fixture)	\
FIXTURE_VARIANT_ADD(_fixture, _mode) {			\
	.iommu_mode = #_mode,					\
}

/* The driver bound to @bdf, written to @buf; "" if none.  0 or -errno. */
int vpv_driver_of(const char *bdf, char *buf, size_t len);

/*
 * Bind @bdf to @driver through driver_override, unbinding its current driver
 * first.  Returns 0, or the -errno that the write to the driver's bind file
 * returned (the probe's result).  driver_override is cleared on failure.
 */
int vpv_bind(const char *bdf, const char *driver);

/* Unbind @bdf from its driver (if any) and clear driver_override. */
int vpv_unbind(const char *bdf);

/*
 * Bind @bdf to @driver (vpv_bind()) unless it is bound to it already.  0, or
 * the -errno of vpv_driver_of() or vpv_bind().
 */
int vpv_ensure_bound(const char *bdf, const char *driver);

/*
 * Read the first @len bytes of the config space of @bdf through VFIO, with
 * the device bound to a VFIO driver: open it in @iommu_mode (libvfio's
 * iommu_init()), read, close.  0 or -errno; libvfio ends the test on a
 * failed open.
 */
int vpv_vfio_config_snapshot(const char *bdf, const char *iommu_mode, uint8_t *buf, size_t len);

/* A cursor at the end of the kernel log (/dev/kmsg); -errno on error. */
int vpv_kmsg_open(void);

/* Whether a record logged after vpv_kmsg_open() contains @needle. */
bool vpv_kmsg_find(int fd, const char *needle);

/*
 * Number of records logged since vpv_kmsg_open() (or the previous call on
 * @fd) whose message contains @needle.  Records a flood overwrote before they
 * were read are not counted.
 */
int vpv_kmsg_count(int fd, const char *needle);

/*
 * Number of such records whose message starts with @prefix, after the
 * prefix the kernel's print helpers add: "vfio_pasid_vf: " (pr_*) or
 * "vfio-pasid-vf 0000:01:10.0: " (dev_*).
 */
int vpv_kmsg_count_starting(int fd, const char *prefix);

/*
 * Config space through sysfs (/sys/bus/pci/devices/BDF/config; root sees all
 * 4K): read or write @len bytes at @off.  0 or -errno.  Writes go through the
 * PCI core's user accessors, like setpci.
 */
int vpv_cfg_read(const char *bdf, unsigned int off, void *buf, size_t len);
int vpv_cfg_write(const char *bdf, unsigned int off, const void *buf, size_t len);

/*
 * The offset of the first extended capability with ID @id in the 4K config
 * image @cfg, walking the chain from 0x100; 0 if absent or the chain loops.
 */
unsigned int vpv_ecap_find(const uint8_t *cfg, uint16_t id);

/* The little-endian 32- or 16-bit value at @p (of a config space image). */
uint32_t vpv_le32(const uint8_t *p);
uint16_t vpv_le16(const uint8_t *p);

/* An extended capability in a chain: its offset, ID and version. */
struct vpv_ecap {
	unsigned int off, id, ver;
};

/*
 * The extended capability chain of the 4K config image @cfg from 0x100,
 * following Next, at most @max entries in @caps (ID 0 placeholders included):
 * how many, or -1 if the chain loops or leaves extended config space.
 */
int vpv_ecap_chain(const uint8_t *cfg, struct vpv_ecap *caps, int max);

/* The entry of capability @id in @caps[@n], NULL if it is not there. */
const struct vpv_ecap *vpv_ecap_entry(const struct vpv_ecap *caps, int n, unsigned int id);

/* A range of config space, [start, end). */
struct vpv_range {
	unsigned int start, end;
};

/* Whether [@start, @end) overlaps @r. */
bool vpv_overlaps(unsigned int start, unsigned int end, const struct vpv_range *r);

/*
 * Free room for an emulated capability (a SET of VFIO_DEVICE_FEATURE_PASID_VF)
 * in the VF @vf, as the uAPI header defines it: @busy[dword] (of 4K / 4) is
 * true for the dwords that no emulated capability may cover, those of every
 * VF capability in its raw chain (sysfs; vfio-pci hidden or not, each as long
 * as the PCIe spec makes it, or up to the next one), those that read non-zero
 * from the VF now (sysfs), and, to stay clear of what the VF read at bind,
 * every hidden register or capability the vpv_pf fixture planted (its debugfs
 * layout), whatever it holds.  0, -ELOOP if the raw chain loops, -ENOENT
 * without the fixture's layout, or another -errno.
 */
int vpv_vf_busy(const char *vf, bool *busy);

/*
 * The lowest offset from 0x100 where @len bytes are free in @busy
 * (vpv_vf_busy()) and overlap none of @avoid[@n]; 0 if there is none.
 */
unsigned int vpv_lowest_free(const bool *busy, unsigned int len, const struct vpv_range *avoid,
			     int n);

/*
 * Free room in the VF @vf for both emulated capabilities, clear of
 * @avoid[@n] (n < 8): the lowest offset for PASID written to @pasid, then the
 * lowest for PRI clear of that too to @pri (vpv_vf_busy(), vpv_lowest_free()).
 * 0, -ENOSPC if there is no room for one of them (its offset 0), or the
 * -errno of vpv_vf_busy().
 */
int vpv_free_room(const char *vf, const struct vpv_range *avoid, int n, unsigned int *pasid,
		  unsigned int *pri);

/* Read a (sysfs, debugfs) text file into @buf, NUL-terminated.  Bytes or -errno. */
int vpv_file_read(const char *path, char *buf, size_t len);

/* Write @val to a (sysfs, debugfs) file.  0 or the write's -errno. */
int vpv_file_write(const char *path, const char *val);

/*
 * The driver's table of administrator offsets (a driver attribute): write one
 * entry "KEY[,pasid=OFF|auto][,pri=OFF|auto]" (KEY: a VF BDF or VVVV:DDDD),
 * or KEY alone to delete it; read one line per entry.
 */
#define VPV_OFFSETS "/sys/bus/pci/drivers/" VPV_DRIVER "/offsets"

/*
 * Read (@write false) or write @len bytes at offset @off of the config region
 * of an open VFIO device, at @v: 0, -errno, or -EIO for a short transfer.
 */
struct vfio_pci_device;
int vpv_vfio_cfg_rw(struct vfio_pci_device *dev, bool write, unsigned int off, void *v, size_t len);

/*
 * VFIO_DEVICE_FEATURE on the device fd @fd with @flags and the @len bytes at
 * @payload (copied back after the call), argsz the header plus @len.  0 or
 * -errno (-ENOMEM if the argument cannot be allocated).
 */
int vpv_feature(int fd, uint32_t flags, void *payload, size_t len);

/* What the driver says about the emulated capabilities of @bdf (its placement file). */
int vpv_placement(const char *bdf, char *buf, size_t len);

/* The offset after "CAP at 0x" in a placement line; 0 if the capability is not placed. */
unsigned int vpv_placed_at(const char *placement, const char *cap);

/* The driver's module. */
#define VPV_MODULE_NAME "vfio_pasid_vf"

/* rmmod vfio_pasid_vf (without waiting): 0 or -errno. */
int vpv_module_unload(void);

/* insmod @ko (vfio_pasid_vf.ko) with @params: 0 or -errno. */
int vpv_module_load(const char *ko, const char *params);

/*
 * The driver's own view of the emulated registers of @bdf's open (its
 * "emulated" file): each *_off is 0 if that capability is not emulated (all 0
 * when the file reads "none").
 */
struct vpv_emulated {
	unsigned int pasid_off, pasid_cap, pasid_ctrl;
	unsigned int pri_off, pri_ctrl, pri_status, pri_max_req, pri_alloc_req;
};

/* Read and parse @bdf's "emulated" file: 0, -errno, or -EPROTO if it does not parse. */
int vpv_emulated(const char *bdf, struct vpv_emulated *e);

/* The vpv_pf test fixture's debugfs directory. */
#define VPV_FIXTURE_DEBUGFS "/sys/kernel/debug/vpv_pf"

/*
 * Run the fixture's fault hook @cmd ("pasid_disable", "vf_offline 0", ...)
 * and wait for it (it runs asynchronously): the hook's result (0 or -errno),
 * or the -errno of writing or reading the fault file, or -ETIMEDOUT after 60 s.
 */
int vpv_fixture_fault(const char *cmd);

/* kmemleak (debug kernel): its debugfs file, absent without CONFIG_DEBUG_KMEMLEAK. */
#define VPV_KMEMLEAK "/sys/kernel/debug/kmemleak"

/*
 * Number of leak reports ("unreferenced object") in the kmemleak file; the
 * first lines of the first reports are printed as "# " comments.  -errno if
 * the file cannot be read.
 */
int vpv_kmemleak_reports(void);

/*
 * A hex sysfs attribute of @bdf (/sys/bus/pci/devices/BDF/FILE, e.g. "vendor"),
 * or ~0u if it cannot be read.
 */
unsigned int vpv_sysfs_hex(const char *bdf, const char *file);

/*
 * Max PASID Width the IOMMU of @bdf supports: Intel VT-d ECAP.PSS + 1, from
 * sysfs; -1 without an intel-iommu.
 */
int vpv_iommu_pasid_width(const char *bdf);

/* The next number of the xorshift64 sequence in *@s (a seed, never 0). */
uint64_t vpv_rnd(uint64_t *s);

/*
 * The offset of the first capability with ID @id in the standard capability
 * list of the config image @cfg (at least 256 bytes); 0 if absent or the list
 * loops.
 */
unsigned int vpv_cap_find(const uint8_t *cfg, uint8_t id);

/*
 * A register model of config space, a byte at a time: what each byte may
 * read.  VPV_BYTE_BITS: (byte & ~var) == fixed, so the bits outside @var are
 * read-only (or reserved, fixed 0) and those in @var may read anything;
 * VPV_BYTE_ONE_OF: one of the @n_one_of bytes at @one_of (what a test's
 * writers put there); VPV_BYTE_UNCHECKED (0): a byte that no model covers.
 * @reg names the register after linux/pci_regs.h, for messages.
 */
enum vpv_byte_kind {
	VPV_BYTE_UNCHECKED,
	VPV_BYTE_BITS,
	VPV_BYTE_ONE_OF,
};

struct vpv_byte_model {
	uint8_t kind, var, fixed;
	uint8_t n_one_of;
	const uint8_t *one_of;
	const char *reg;
};

/* VPV_BYTE_BITS for the @len bytes at @off of @m: little endian @fixed and @var. */
void vpv_model_bits(struct vpv_byte_model *m, unsigned int off, unsigned int len, uint64_t fixed,
		    uint64_t var, const char *reg);

/* VPV_BYTE_ONE_OF for the @len bytes at @off of @m: each one of @vals[@n]. */
void vpv_model_one_of(struct vpv_byte_model *m, unsigned int off, unsigned int len,
		      const uint8_t *vals, uint8_t n, const char *reg);

/* Whether byte @v is one that @b allows (true for VPV_BYTE_UNCHECKED). */
bool vpv_model_allows(const struct vpv_byte_model *b, uint8_t v);

/*
 * What the emulated capabilities of a VF bound to vfio-pasid-vf must read,
 * from its PF's config space (sysfs), the IOMMU (sysfs) and the PCIe spec;
 * where they are and how the chain reaches them, from @cfg, the VF's config
 * space as VFIO shows it (4K, read by the caller).
 */
struct vpv_emul_expect {
	char pf[32];			/* the VF's PF */
	unsigned int pf_pasid, pf_pri;	/* the PF's PASID and PRI capabilities */
	unsigned int pasid, pri;	/* the VF's emulated ones, in @cfg */
	/* The real capability whose Next links the first emulated one; 0: that one is at 0x100. */
	unsigned int link;
	unsigned int exp;		/* the VF's PCI Express capability */
	uint32_t pasid_hdr, pri_hdr, link_hdr;	/* as @cfg reads them */
	uint16_t vendor, device;	/* the VF's IDs, from sysfs */
	uint16_t pf_pasid_cap_reg, pf_pasid_ctrl_reg;	/* the PF's PCI_PASID_CAP, PCI_PASID_CTRL */
	/* PCI_PASID_CAP: Exec and Priv if the PF supports and enabled them, width min(PF, IOMMU). */
	uint16_t pasid_cap;
	uint16_t pasid_ctrl_rw;		/* the RW bits of PCI_PASID_CTRL: Enable, Exec/Priv if supported */
	uint16_t pri_status_ro;		/* PCI_PRI_STATUS_PASID, the PF's */
	uint32_t pri_capacity;		/* PCI_PRI_MAX_REQ, the PF's */
	int iommu_width;		/* the IOMMU's Max PASID Width */
};

/*
 * Fills @x for the VF @vf from @cfg.  0, or -errno with what is missing
 * written to @why: -ENODEV (not a VF, or the PF has no PASID or PRI
 * capability: the vpv_pf fixture is not loaded), -ENOENT (@cfg lacks an
 * emulated capability, the chain does not reach them, no PCI Express
 * capability or intel-iommu in sysfs), -EPROTO (an emulated capability's
 * Version is not 1), or the -errno of reading the PF's config space.
 * Whether @cfg's PCI_PASID_CAP reads x->pasid_cap is the caller's to check.
 */
int vpv_emul_expect(const char *vf, const uint8_t *cfg, struct vpv_emul_expect *x, char *why,
		    size_t len);

/*
 * The register model of @x in @m (4K entries, the others left alone), after
 * the PCIe spec: PCI_VENDOR_ID, PCI_DEVICE_ID and the linking capability's
 * header (vfio-pci keeps them read-only), the PASID and PRI headers,
 * PCI_PASID_CAP, PCI_PRI_MAX_REQ read-only; PCI_PASID_CTRL its RW bits, the
 * rest 0; PCI_PRI_CTRL Enable, the rest 0 (Reset reads 0); PCI_PRI_STATUS
 * PRG Response PASID Required the PF's, Stopped variable, RF and UPRGI 0
 * (nothing is attributed to a VF); PCI_PRI_ALLOC_REQ any value.
 */
void vpv_emul_model(const struct vpv_emul_expect *x, struct vpv_byte_model *m);

/* A config write that reached a function, as the vpv_pf fixture's write log records it. */
struct vpv_write {
	unsigned int off, size, val;
};

/*
 * The fixture's log of config writes that reached @fn ("pf" or "vfN"),
 * oldest first: the first @max entries to @w, the number of entries that the
 * log dropped (it holds 512) to *@dropped.  The number of entries (also those
 * beyond @max), or -errno.
 */
int vpv_fixture_writes(const char *fn, struct vpv_write *w, int max, unsigned long *dropped);

/* Clears the fixture's write log of @fn: 0 or -errno. */
int vpv_fixture_clear_writes(const char *fn);

/* How many of the fixture's logged writes to @fn touch [@start, @end); -errno. */
int vpv_fixture_writes_in(const char *fn, unsigned int start, unsigned int end);

/*
 * A new eventfd (close-on-exec) as the trigger of the VF's IRQ @index
 * (VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX) on the device fd @fd; -errno.
 */
int vpv_irq_eventfd(int fd, unsigned int index);

/*
 * A log of the first VPV_LOG_LINES failures that threads or processes (the
 * log in shared memory) of a test found, counted in *@n.
 */
#define VPV_LOG_LINES	8
#define VPV_LOG_LEN	224
__attribute__((format(printf, 3, 4)))
void vpv_log_line(char log[VPV_LOG_LINES][VPV_LOG_LEN], unsigned long *n, const char *fmt, ...);
/* Prints the @n failures of @log, as ksft messages. */
void vpv_print_log(char log[VPV_LOG_LINES][VPV_LOG_LEN], unsigned long n);

/* CLOCK_MONOTONIC now, and the seconds since @t0. */
struct timespec vpv_now(void);
double vpv_since(struct timespec t0);

#endif /* VPV_SELFTEST_H */
