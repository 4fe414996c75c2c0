/* imp-quantal-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-quantal.h"

G_BEGIN_DECLS

void _imp_quantal_fit_unbinned (const float            *amplitudes,
                                guint                   n_amplitudes,
                                int                     sign,
                                double                  sigma0_mv,
                                const ImpQuantalParams *params,
                                guint64                 stream,
                                ImpQuantalFit          *fit);
double   _imp_quantal_exp        (double                  y);
gboolean _imp_quantal_set_lanes  (guint                   lanes);

G_END_DECLS
