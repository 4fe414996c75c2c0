/* imp-native.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-recording.h"

G_BEGIN_DECLS

/* Writer for Imprint's own HDF5 layout (docs/native-format.md). Samples are
 * stored as int16 counts; physical = count * gain + offset per channel. */

#define IMP_NATIVE_FORMAT_VERSION 1

typedef struct _ImpNativeWriter ImpNativeWriter;

ImpNativeWriter *imp_native_writer_new          (const char       *path,
                                                 guint             n_channels,
                                                 double            sample_rate,
                                                 GError          **error);
/* Call for every channel before the first append. */
void             imp_native_writer_set_channel  (ImpNativeWriter  *self,
                                                 guint             index,
                                                 const char       *label,
                                                 const char       *unit,
                                                 double            gain,
                                                 double            offset,
                                                 double            x_um,
                                                 double            y_um,
                                                 ImpAccess         access);
/* Append n_samples for all channels, time-major: counts[s * n_channels + c]. */
gboolean         imp_native_writer_append       (ImpNativeWriter  *self,
                                                 const gint16     *counts,
                                                 gint64            n_samples,
                                                 GError          **error);
/* Optional; without it the file has one sweep starting at 0 s. */
void             imp_native_writer_add_sweep    (ImpNativeWriter  *self,
                                                 gint64            n_samples,
                                                 double            start_s);
void             imp_native_writer_set_attribute (ImpNativeWriter *self,
                                                 const char       *key,
                                                 const char       *value);
/* Writes to a temporary file and renames it into place on success. */
gboolean         imp_native_writer_close        (ImpNativeWriter  *self,
                                                 GError          **error);
void             imp_native_writer_free         (ImpNativeWriter  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpNativeWriter, imp_native_writer_free)

G_END_DECLS
