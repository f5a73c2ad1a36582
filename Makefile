# mql_score — PGXS build
EXTENSION  = mql_score
MODULE_big = mql_score
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA       = $(sort $(wildcard sql/mql_score--*.sql))
DOCS       = doc/mql_score.md

# pg_regress suite: sql/<name>.sql against expected/<name>.out
REGRESS      = decay_curves decayed decayed_agg config tracking scoring privileges lifecycle differential bad_input config_columns security parallel_reads funnel
REGRESS_OPTS = --inputdir=. --load-extension=mql_score
# isolation specs: test/isolation/specs/<name>.spec against test/isolation/expected/<name>.out
ISOLATION      = concurrent_inserts opposite_order_batches insert_vs_rule_change insert_vs_untrack delete_vs_insert
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=mql_score
# TAP tests (PostgreSQL::Test::Cluster): test/t/*.pl
TAP_TESTS    = 1
PROVE_TESTS  = test/t/*.pl

PG_CPPFLAGS += -Isrc
PG_CFLAGS   += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# `make WERROR=1` (CI) turns every warning into an error;
# `make ASSERTS=1` compiles our Assert()s in against a production server.
ifdef WERROR
PG_CFLAGS += -Werror
endif
ifdef ASSERTS
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(wildcard src/*.h)
