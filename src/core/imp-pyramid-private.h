/* imp-pyramid-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-pyramid.h"

G_BEGIN_DECLS

void _imp_pyramid_set_limits   (gsize resident_bytes,
                                gsize staging_bytes,
                                gsize cache_bytes);
void _imp_pyramid_reset_limits (void);

G_END_DECLS
