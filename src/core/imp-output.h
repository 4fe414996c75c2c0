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

/* JSON written value by value (imp_json_writer_init()). */
typedef struct
{
  GString *out;
  guint    depth;
  guint32  written;   /* a bit per depth: a value was written there */
} ImpJsonWriter;

void imp_json_writer_init         (ImpJsonWriter *w,
                                   GString       *out,
                                   guint          depth);
void imp_json_writer_begin_object (ImpJsonWriter *w,
                                   const char    *name);
void imp_json_writer_end_object   (ImpJsonWriter *w);
void imp_json_writer_begin_array  (ImpJsonWriter *w,
                                   const char    *name);
void imp_json_writer_end_array    (ImpJsonWriter *w);
void imp_json_writer_double       (ImpJsonWriter *w,
                                   const char    *name,
                                   double         value);
void imp_json_writer_int          (ImpJsonWriter *w,
                                   const char    *name,
                                   gint64         value);
void imp_json_writer_boolean      (ImpJsonWriter *w,
                                   const char    *name,
                                   gboolean       value);
void imp_json_writer_string       (ImpJsonWriter *w,
                                   const char    *name,
                                   const char    *value);
void imp_json_writer_floats       (ImpJsonWriter *w,
                                   const char    *name,
                                   const float   *values,
                                   gsize          n);

G_END_DECLS
