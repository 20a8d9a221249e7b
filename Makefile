# Set-up, run and test. `make requirements` is the one set-up command a newcomer needs.
PYTHON ?= python
# Libraries Qt's X11 window needs that pip cannot install (Debian/Ubuntu names).
QT_SYSTEM_PACKAGES = libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libgl1 libegl1 libfontconfig1 libdbus-1-3

.PHONY: requirements system-packages run test bench

requirements: system-packages
	$(PYTHON) -m pip install -r requirements.txt

# Installs the window's system libraries where it can (root on Debian/Ubuntu); otherwise says what to install.
system-packages:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(QT_SYSTEM_PACKAGES) >/dev/null) \
		|| echo "warning: apt-get could not install $(QT_SYSTEM_PACKAGES); the window may not open"; \
	elif command -v apt-get >/dev/null; then \
		echo "note: for the window, run: sudo apt-get install $(QT_SYSTEM_PACKAGES)"; \
	fi

run:
	$(PYTHON) main.py

test:
	$(PYTHON) -m pytest

bench:
	$(PYTHON) bench/train_throughput.py
