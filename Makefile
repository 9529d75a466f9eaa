# SPDX-License-Identifier: GPL-2.0
#
# vfio-pasid-vf: build the module against a Rust-enabled kernel build tree.
#
#   make                      build vfio_pasid_vf.ko against $(KDIR)
#   make KDIR=/path/to/linux  ... against your own tree (built with CONFIG_RUST=y)
#   make CLIPPY=1             ... with clippy
#   make rustfmt | rustfmtcheck
#   make headers_install [INSTALL_HDR_PATH=/usr]
#                             install the uAPI header (include/linux/vfio_pasid_vf.h)
#   make setup                install the toolchain and build the test kernels
#   make test                 run every test (the README's test command)
#   make clean

LLVM ?= -19
# Defaults: the lean test kernel and the tools that scripts/setup.sh caches.
VPV_CACHE ?= $(shell bash -c 'source scripts/lib.sh && echo $$VPV_CACHE')
KDIR ?= $(VPV_CACHE)/kbuild/current-lean
BINDGEN ?= $(or $(wildcard $(VPV_CACHE)/tools/bin/bindgen),bindgen)
export LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) BINDGEN=$(BINDGEN)
KDIR_STAMP := .vpv-kdir

RUST_SOURCES := $(shell find drivers rust host fuzz/fuzz_targets -name '*.rs' ! -name 'bindings_generated.rs')

.PHONY: all modules clean setup test demo rustfmt rustfmtcheck headers_install

all: modules

# What the module needs of the kernel it is built for.  CONFIG_IOMMUFD: without
# it the vfio_iommufd_physical_*() callbacks that the module's vfio_device_ops
# name are NULL macros, and iommufd (cdev) users could not attach the device.
# CONFIG_PCI_IOV: the driver takes VFs only, and reads their PF.
KCONFIG_NEEDED := CONFIG_RUST CONFIG_VFIO_PCI_CORE CONFIG_IOMMUFD CONFIG_PCI_IOV

modules:
	@test -f $(KDIR)/Module.symvers || { echo "KDIR=$(KDIR) is not a built kernel tree; run 'make setup' or pass KDIR=" >&2; exit 1; }
	@for opt in $(KCONFIG_NEEDED); do \
		grep -Eq "^$$opt=(y|m)$$" $(KDIR)/.config || { \
			echo "KDIR=$(KDIR): the module needs $$opt=y (or =m), which this kernel does not have" >&2; exit 1; }; \
	done
	@# Objects built against one kernel tree must not be linked against another
	@# (struct layouts differ), so switching KDIR cleans first.
	@if [ -f $(KDIR_STAMP) ] && [ "$$(cat $(KDIR_STAMP))" != "$(realpath $(KDIR))" ]; then \
		echo "KDIR changed: cleaning objects built for $$(cat $(KDIR_STAMP))"; \
		$(KMAKE) clean >/dev/null; fi
	@realpath $(KDIR) > $(KDIR_STAMP)
	$(KMAKE) modules

clean:
	@if [ -f $(KDIR)/Makefile ]; then $(KMAKE) clean; fi
	rm -f $(KDIR_STAMP)

# The kernel's rustfmt config: in the source tree (KDIR/source for O= builds).
RUSTFMT_CONFIG = $(firstword $(wildcard $(KDIR)/source/.rustfmt.toml $(KDIR)/.rustfmt.toml))

rustfmt:
	rustfmt --edition 2021 --config-path $(RUSTFMT_CONFIG) $(RUST_SOURCES)

rustfmtcheck:
	rustfmt --edition 2021 --check --config-path $(RUSTFMT_CONFIG) $(RUST_SOURCES)

# The uAPI header, as the kernel's headers_install installs its own: to
# $(INSTALL_HDR_PATH)/include/linux/, for VMMs built against it.
INSTALL_HDR_PATH ?= /usr
headers_install:
	install -D -m 0644 include/uapi/linux/vfio_pasid_vf.h \
		$(DESTDIR)$(INSTALL_HDR_PATH)/include/linux/vfio_pasid_vf.h

setup:
	scripts/setup.sh

test:
	scripts/test.sh
