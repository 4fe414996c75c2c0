/* imp-progress.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Called from the worker thread; @fraction in [0, 1], @stage a short
 * human-readable stage name. Must be cheap and thread-safe. */
typedef void (*ImpProgressFunc) (double      fraction,
                                 const char *stage,
                                 gpointer    user_data);

G_END_DECLS
