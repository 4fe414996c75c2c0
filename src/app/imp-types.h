/* imp-types.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "imp-analysis.h"
#include "imp-pyramid.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* Boxed types for the reference-counted core structures, so that they can
 * be held in GObject properties and GValues. Copying takes a reference. */

#define IMP_TYPE_RECORDING       (imp_recording_get_type ())
#define IMP_TYPE_ANALYSIS_RESULT (imp_analysis_result_get_type ())
#define IMP_TYPE_PYRAMID         (imp_pyramid_get_type ())

GType imp_recording_get_type       (void) G_GNUC_CONST;
GType imp_analysis_result_get_type (void) G_GNUC_CONST;
GType imp_pyramid_get_type         (void) G_GNUC_CONST;

G_END_DECLS
