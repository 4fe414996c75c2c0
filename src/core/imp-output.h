/* imp-output.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Writing results: files that may be devices or links, and JSON text that
 * is valid whatever the numbers. */

typedef struct _ImpOutputFile ImpOutputFile;

ImpOutputFile *imp_output_file_open   (const char     *path,
                                       GError        **error);
gboolean       imp_output_file_write  (ImpOutputFile  *file,
                                       const char     *data,
                                       gsize           length,
                                       GError        **error);
gboolean       imp_output_file_commit (ImpOutputFile  *file,
                                       GError        **error);
void           imp_output_file_abort  (ImpOutputFile  *file);

gboolean  imp_output_write_file   (const char  *path,
                                   const char  *contents,
                                   gsize        length,
                                   GError     **error);

void      imp_output_append_double (GString    *out,
                                    double      value);

char     *imp_output_json_to_data (JsonNode    *root,
                                   gboolean     pretty,
                                   gsize       *length);

G_END_DECLS
