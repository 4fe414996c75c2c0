/* imp-psc-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

void   _imp_psc_set_keep_max_bytes (gsize   bytes);
double _imp_psc_effective_tests    (double *cov,
                                    guint   m);

G_END_DECLS
