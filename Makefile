# The course in two commands:  make lab   (JupyterLab on notebooks/)
#                              make test  (unit tests + every notebook through nbval)
# Both create .venv if missing, install the project, and make sure MNIST and the
# trained weights are there. Re-running them is fast when nothing changed.

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
MODELS      := regression dnn2 dnn4 cnn small
WEIGHTS     := $(MODELS:%=course_utils/assets/models/%.pt)
# Notebook tests run on the default evaluation subset and on the CPU, whatever the caller's
# shell says: the committed outputs they are compared with were computed that way. They read
# the shipped records, and the user's folder (the user's own runs) is a fresh empty one
# (tests/conftest.py makes its own as well).
TEST_ENV    := COURSE_N_EVAL=1000 COURSE_DEVICE=cpu PYTHONHASHSEED=0 COURSE_RECORDS=shipped \
               COURSE_USER_DIR=$$(mktemp -d "$${TMPDIR:-/tmp}/course-user.XXXXXX")
# A second notebook run under PyTorch's portable kernels and one thread: the committed
# outputs must not depend on the CPU (AVX2 or AVX-512) or the thread count.
PORTABLE    := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Jupyter refuses to run as root unless told to (containers, CI machines).
LAB_FLAGS   := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST      := $(TEST_ENV) $(PY) -m pytest -p no:cacheprovider --nbval --nbval-current-env \
               --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600

.PHONY: lab test setup data weights notebooks check-notebooks clean-venv test-unit test-notebooks \
        test-portable test-slow test-browser test-python student screenshot \
        book slides test-site test-decks test-install

setup: $(STAMP) data $(WEIGHTS)

# torch==2.13.0 first: a looser requirement on a machine without torch would pull the
# CUDA build (several GB). The project's own range is satisfied by it.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test,lab]"
	touch $@

data: $(STAMP)
	$(PY) -m course_utils data

# Missing weights are retrained by the chapter's recipe (the CNN takes about 8 min on a 2-core CPU)
# into the checkout's shipped files (--shipped); `make weights` retrains and replaces all of them.
course_utils/assets/models/%.pt: | $(STAMP)
	$(PY) -m course_utils train --shipped $*

weights: $(STAMP)
	$(PY) -m course_utils train --shipped --force $(MODELS)

lab: setup
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/

# Everything: unit tests, the browser test, the wheel outside the checkout, the learner's
# edition of the notebooks (nbval, strict), and at the same time (one thread, so on a second
# core) the solved edition under portable kernels; its report follows the first one's. The
# two editions share every cell but the exercises, so between them each cell runs natively
# and portably. The book, the slides and the fresh-environment installs are slower:
# .ci/run runs them after `make test`.
PORTABLE_LOG := build/portable-notebooks.log
test: setup
	@mkdir -p build
	@$(PORTABLE) $(PYTEST) notebooks/solutions > $(PORTABLE_LOG) 2>&1 & portable=$$!; \
	trap 'kill $$portable 2>/dev/null' INT TERM; \
	echo "$(PORTABLE) pytest notebooks/solutions: running beside this run, reported after it ($(PORTABLE_LOG))"; \
	$(PYTEST) -m "not site and not install and not slow" tests notebooks --ignore=notebooks/solutions --ignore=notebooks/lectures; main=$$?; \
	wait $$portable; other=$$?; \
	echo; echo "=== $(PORTABLE) pytest notebooks/solutions ==="; cat $(PORTABLE_LOG); \
	test $$main = 0 && test $$other = 0

test-unit: setup
	$(PYTEST) -m "not browser and not site and not install and not slow" tests

# The long fuzz of the verification's guarantees (about 10 times the cases of make test).
test-slow: setup
	$(PYTEST) -m slow tests

# Both editions of every notebook (notebooks/ and notebooks/solutions/).
test-notebooks: setup
	$(PYTEST) notebooks

test-portable: setup
	$(PORTABLE) $(PYTEST) notebooks

# The unit tests on another Python, in its own environment: make test-python PYTHON=python3.10
# (pip takes torch from this machine's disk where it has a wheel for that Python, else PyPI).
PYTHON    ?= python3.13
test-python:
	test -x .venv-$(notdir $(PYTHON))/bin/python || $(PYTHON) -m venv .venv-$(notdir $(PYTHON))
	.venv-$(notdir $(PYTHON))/bin/python -m pip install --quiet --upgrade pip
	.venv-$(notdir $(PYTHON))/bin/python -m pip install --quiet torch==2.13.0
	.venv-$(notdir $(PYTHON))/bin/python -m pip install --quiet -e ".[test]"
	$(TEST_ENV) .venv-$(notdir $(PYTHON))/bin/python -m pytest -p no:cacheprovider -q -m "not browser and not site and not install and not slow" tests

# JupyterLab in headless Chromium (Debian's /usr/bin/chromium): run all, move the ε slider.
test-browser: setup
	$(PYTEST) -m browser tests/test_browser.py

# Retake the README's picture (docs/img/02_fgsm.png) with the same machinery.
screenshot: setup
	$(PY) tools/screenshot.py

# Rebuild both editions of every notebook from notebooks/solutions/src/*.py and execute them
# with outputs saved (NB=02_fgsm for just one).
notebooks: setup
	$(TEST_ENV) $(PY) tools/notebooks.py build $(NB)

# The learner's edition without outputs (build/student/): a hand-out to run from scratch.
student: $(STAMP)
	$(PY) tools/notebooks.py student build/student

check-notebooks: $(STAMP)
	$(PY) tools/notebooks.py check

clean-venv:
	rm -rf $(VENV)

# --- The course where its readers are: book, slides, installs -----------------------------
# The book and the slides are rendered from the committed notebooks: they need only the
# "book" extra (Sphinx, myst-nb, nbconvert, ...), in an environment of their own, without
# PyTorch or JupyterLab (tools/book_env.py). reveal.js and MathJax come from npm into
# build/web (tools/web_assets.py).
BOOK_VENV  := .venv-book
BOOK_PY    := $(BOOK_VENV)/bin/python
BOOK_STAMP := $(BOOK_VENV)/.installed

$(BOOK_STAMP): pyproject.toml
	$(PYTHON_BOOT) tools/book_env.py $(BOOK_VENV)
	touch $@

# A static website of the course from the committed notebooks: build/book/html/index.html.
book: $(BOOK_STAMP)
	$(BOOK_PY) tools/book.py

# Every notebook as a reveal.js deck: build/slides/NN_name.slides.html.
slides: $(BOOK_STAMP)
	$(BOOK_PY) tools/slides.py

# The built book, one deck and RISE in headless Chromium.
test-site: book slides
	$(PYTEST) -m "site and not decks" tests/test_site.py

# The decks held to a lecture's standard (fit the screen, <= 80 words a slide, questions
# alone on their slide, 15-25 slides): the acceptance test of the decks, not yet in CI.
test-decks: book slides
	$(PYTEST) -m decks tests/test_site.py

# Fresh virtual environments: a notebook's first cell installs the course; CITATION.cff valid.
test-install: setup
	$(PYTEST) -m install tests/test_install.py
