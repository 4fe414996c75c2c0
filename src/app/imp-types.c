/* imp-types.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-types.h"

G_DEFINE_BOXED_TYPE (ImpRecording, imp_recording,
                     imp_recording_ref, imp_recording_unref)
G_DEFINE_BOXED_TYPE (ImpAnalysisResult, imp_analysis_result,
                     imp_analysis_result_ref, imp_analysis_result_unref)
G_DEFINE_BOXED_TYPE (ImpPyramid, imp_pyramid,
                     imp_pyramid_ref, imp_pyramid_unref)
