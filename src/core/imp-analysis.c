/* imp-analysis.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-analysis.h"

void
imp_analysis_params_init_default (ImpAnalysisParams *params)
{
  g_return_if_fail (params != NULL);

  params->ap_threshold_sd = 8.0;
  params->ap_min_height_mv = 20.0;
  params->ap_refractory_ms = 2.0;
  params->psp_threshold_sd = 4.0;
  params->window_pre_ms = 5.0;
  params->window_post_ms = 25.0;
  params->latency_min_ms = 0.5;
  params->latency_max_ms = 10.0;
  params->alpha = 0.001;
  params->n_surrogates = 200;
  params->seed = 1;
  params->jitter_ms = 50.0;
  params->min_pre_aps = 3;
  params->candidate_p_max = 0.01;
}
