/* imp-analysis-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-analysis.h"

G_BEGIN_DECLS

void   _imp_analysis_set_keep_max_bytes (gsize bytes);

/* The onset test of one pair: @aps and @psps are ImpEvent arrays sorted
 * by sample, @params normalised (imp_analysis_params_normalise()). */
double _imp_analysis_onset_spread_z     (const ImpAnalysisParams *params,
                                         double                   fs,
                                         GArray                  *aps,
                                         GArray                  *psps,
                                         char                     sign);

G_END_DECLS
