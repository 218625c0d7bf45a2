# Thin aliases for ./dev (which works without make).
.PHONY: run test bench stop wipe lint
run: ; ./dev run
test: ; ./dev test
bench: ; ./dev bench
stop: ; ./dev stop
wipe: ; ./dev wipe
lint: ; ./dev lint
