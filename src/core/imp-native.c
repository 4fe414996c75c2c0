/* imp-native.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "imp-native.h"
#include "imp-recording-private.h"

/* The layout is described in docs/native-format.md. In short: /data is an
 * int16 dataset [samples, channels], chunked [8192, min (64, channels)],
 * so a block of 64 neighbouring channels over ~0.8 s at 10 kHz is one
 * 1 MiB chunk; per-channel metadata lives in /channels, sweeps in /sweeps
 * and free-form strings as attributes of /metadata. */

#define NATIVE_FORMAT_NAME   "imprint-native"
#define CHUNK_SAMPLES        8192
#define CHUNK_CHANNELS       64
/* Most int16 values one read step converts at a time (8 MiB). */
#define READ_BLOCK_VALUES    (4 * 1024 * 1024)
/* Rows of samples converted at a time, in bytes of the file's samples. */
#define READ_TILE_BYTES      (64 * 1024)
#define READ_CACHE_BYTES     (32 * 1024 * 1024)
#define READ_CACHE_SLOTS     12421

/* HDF5 helpers */

static GRecMutex h5_lock;

GRecMutex *
_imp_h5_mutex (void)
{
  return &h5_lock;
}

void
_imp_h5_lock (void)
{
  /* In a probe child the lock's copy belongs to a thread that is gone,
   * and the child is alone anyway. */
  if (!_imp_probe_in_child ())
    g_rec_mutex_lock (&h5_lock);
  /* Per thread; besides keeping stderr clean, this spares the library's
   * "infinite loop closing library" at exit after a failed open. */
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

void
_imp_h5_unlock (void)
{
  if (!_imp_probe_in_child ())
    g_rec_mutex_unlock (&h5_lock);
}

void
_imp_h5_id_close (ImpH5Id id)
{
  if (id < 0)
    return;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      switch (H5Iget_type (id))
        {
        case H5I_FILE:
          H5Fclose (id);
          break;
        case H5I_GROUP:
          H5Gclose (id);
          break;
        case H5I_DATASET:
          H5Dclose (id);
          break;
        case H5I_DATASPACE:
          H5Sclose (id);
          break;
        case H5I_DATATYPE:
          H5Tclose (id);
          break;
        case H5I_ATTR:
          H5Aclose (id);
          break;
        case H5I_GENPROP_LST:
          H5Pclose (id);
          break;
        case H5I_UNINIT:
        case H5I_BADID:
        case H5I_GENPROP_CLS:
        case H5I_ERROR_CLASS:
        case H5I_ERROR_MSG:
        case H5I_ERROR_STACK:
        case H5I_NTYPES:
        case H5I_VFL:
        case H5I_REFERENCE:
        default:
          H5Idec_ref (id);
          break;
        }
    }
  H5E_END_TRY;
  _imp_h5_unlock ();
}

gboolean
_imp_h5_is_hdf5 (const char *path)
{
  static const guchar signature[8] = {
    0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'
  };
  guchar head[8];
  gboolean found = FALSE;
  FILE *fp;

  fp = g_fopen (path, "rb");
  if (fp == NULL)
    return FALSE;

  /* The superblock may follow a user block of 512, 1024, 2048, ... bytes. */
  for (long offset = 0; offset <= 65536 && !found;
       offset = offset == 0 ? 512 : offset * 2)
    {
      if (fseek (fp, offset, SEEK_SET) != 0
          || fread (head, 1, sizeof head, fp) != sizeof head)
        break;
      found = memcmp (head, signature, sizeof head) == 0;
    }
  fclose (fp);

  return found;
}

typedef struct
{
  char     *raw;          /* the innermost description, for the log */
  gboolean  filter;
  gboolean  beyond_end;
  gboolean  not_hdf5;
  gboolean  no_memory;
} H5ErrorWalk;

static herr_t
error_walk_cb (unsigned           n,
               const H5E_error2_t *err,
               void               *user_data)
{
  H5ErrorWalk *walk = user_data;

  if (err->maj_num == H5E_PLINE)
    walk->filter = TRUE;
  if (err->min_num == H5E_CANTALLOC || err->min_num == H5E_NOSPACE)
    walk->no_memory = TRUE;
  if (n > 0)
    return 0;

  /* The innermost entry says what went wrong; the others only how it
   * got there ("read failed" at every level). */
  walk->raw = g_strdup (err->desc != NULL ? err->desc : "");
  walk->not_hdf5 = err->min_num == H5E_NOTHDF5;
  walk->beyond_end = err->min_num == H5E_TRUNCATED
                     || err->min_num == H5E_OVERFLOW
                     || err->min_num == H5E_SEEKERROR
                     || g_strcmp0 (err->func_name, "H5C__verify_len_eoa") == 0
                     || g_strcmp0 (err->func_name, "H5FD_read") == 0;
  return 0;
}

char *
_imp_h5_error_text (void)
{
  H5ErrorWalk walk = { 0 };
  const char *text;

  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_UPWARD, error_walk_cb, &walk);
  if (!_imp_probe_in_child ())
    g_debug ("HDF5 says: %s", walk.raw != NULL ? walk.raw : "(nothing)");
  g_free (walk.raw);

  if (walk.filter)
    text = "a compressed block of it cannot be decoded; it is damaged, or "
           "needs a filter this build of HDF5 lacks";
  else if (walk.no_memory)
    text = "HDF5 ran out of memory";
  else if (walk.not_hdf5)
    text = "it is not an HDF5 file, or its header is damaged";
  else if (walk.beyond_end)
    text = "parts of it lie beyond the end of the file; it is truncated "
           "or damaged";
  else
    text = "its internal structure is damaged";

  return g_strdup (text);
}

static char *
read_string_value (hid_t     obj,
                   gboolean  is_attr,
                   hid_t     ftype,
                   hid_t     space)
{
  g_auto(ImpH5Id) mtype = H5I_INVALID_HID;
  hssize_t npoints;
  char *result = NULL;

  npoints = H5Sget_simple_extent_npoints (space);
  if (npoints < 1)
    return NULL;

  mtype = H5Tcopy (H5T_C_S1);
  if (H5Tis_variable_str (ftype) > 0)
    {
      g_autofree char **buf = g_new0 (char *, npoints);
      herr_t status;

      H5Tset_size (mtype, H5T_VARIABLE);
      H5Tset_cset (mtype, H5Tget_cset (ftype));
      if (is_attr)
        status = H5Aread (obj, mtype, buf);
      else
        status = H5Dread (obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      if (status < 0)
        return NULL;
      result = g_strdup (buf[0] != NULL ? buf[0] : "");
      H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buf);
    }
  else
    {
      size_t size = H5Tget_size (ftype);
      g_autofree char *buf = NULL;
      herr_t status;

      if (size == 0)
        return NULL;
      buf = g_malloc0 (size * npoints + 1);
      H5Tset_size (mtype, size);
      H5Tset_strpad (mtype, H5Tget_strpad (ftype));
      if (is_attr)
        status = H5Aread (obj, mtype, buf);
      else
        status = H5Dread (obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      if (status < 0)
        return NULL;
      result = g_strndup (buf, size);
      if (H5Tget_strpad (ftype) == H5T_STR_SPACEPAD)
        g_strchomp (result);
    }

  return result;
}

char *
_imp_h5_attr_string (hid_t       obj,
                     const char *name)
{
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;
  g_auto(ImpH5Id) ftype = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;

  if (H5Aexists (obj, name) <= 0)
    return NULL;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  if (attr < 0)
    return NULL;
  ftype = H5Aget_type (attr);
  if (H5Tget_class (ftype) != H5T_STRING)
    return NULL;
  space = H5Aget_space (attr);

  return read_string_value (attr, TRUE, ftype, space);
}

ImpH5AttrStatus
_imp_h5_attr_number (hid_t       obj,
                     const char *name,
                     double     *value)
{
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;
  g_auto(ImpH5Id) ftype = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_autofree double *buf = NULL;
  H5T_class_t cls;
  hssize_t npoints;

  if (H5Aexists (obj, name) <= 0)
    return IMP_H5_ATTR_ABSENT;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  if (attr < 0)
    return IMP_H5_ATTR_UNREADABLE;
  ftype = H5Aget_type (attr);
  cls = H5Tget_class (ftype);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    return IMP_H5_ATTR_NOT_NUMBER;
  space = H5Aget_space (attr);
  npoints = H5Sget_simple_extent_npoints (space);
  if (npoints < 1 || npoints > 1024 * 1024)
    return IMP_H5_ATTR_UNREADABLE;
  buf = g_new0 (double, npoints);
  if (H5Aread (attr, H5T_NATIVE_DOUBLE, buf) < 0)
    return IMP_H5_ATTR_UNREADABLE;
  *value = buf[0];

  return IMP_H5_ATTR_OK;
}

gboolean
_imp_h5_attr_unreadable (hid_t        obj,
                         const char  *name,
                         GError     **error)
{
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_autofree char *msg = NULL;

  if (H5Aexists (obj, name) <= 0)
    return TRUE;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  type = attr >= 0 ? H5Aget_type (attr) : H5I_INVALID_HID;
  if (type >= 0 && H5Tget_class (type) != H5T_STRING)
    return TRUE;   /* not a string: simply not ours */
  msg = _imp_h5_error_text ();
  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
               "the %s attribute cannot be read: %s", name, msg);
  return FALSE;
}

gboolean
_imp_h5_attr_double (hid_t       obj,
                     const char *name,
                     double     *value)
{
  return _imp_h5_attr_number (obj, name, value) == IMP_H5_ATTR_OK;
}

/* Filters HDF5 registers by number, named as users know them. */
static const char *
filter_name (H5Z_filter_t id,
             const char  *stored)
{
  static const struct { H5Z_filter_t id; const char *name; } known[] = {
    { 1, "deflate (gzip)" },
    { 2, "shuffle" },
    { 3, "Fletcher-32" },
    { 4, "SZIP" },
    { 5, "N-bit" },
    { 6, "scale-offset" },
    { 307, "bzip2" },
    { 32000, "LZF" },
    { 32001, "Blosc" },
    { 32004, "LZ4" },
    { 32008, "bitshuffle" },
    { 32013, "ZFP" },
    { 32015, "Zstandard" },
    { 32026, "Blosc2" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (known[i].id == id)
      return known[i].name;
  return stored != NULL && *stored != '\0' ? stored : NULL;
}

static gboolean
check_filters (hid_t        dcpl,
               const char  *what,
               GError     **error)
{
  int n = H5Pget_nfilters (dcpl);

  for (int i = 0; i < n; i++)
    {
      char stored[64] = "";
      unsigned flags = 0;
      size_t n_values = 0;
      unsigned config = 0;
      H5Z_filter_t id;
      const char *name;

      id = H5Pget_filter2 (dcpl, (unsigned) i, &flags, &n_values, NULL,
                           sizeof stored, stored, &config);
      stored[sizeof stored - 1] = '\0';
      /* An optional filter that is missing was skipped when writing. */
      if (id < 0 || (flags & H5Z_FLAG_OPTIONAL) != 0
          || H5Zfilter_avail (id) > 0)
        continue;
      name = filter_name (id, stored);
      if (name != NULL)
        {
          g_autofree char *shown = g_utf8_make_valid (name, -1);

          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_UNSUPPORTED,
                       "%s is compressed with the %s filter (HDF5 filter "
                       "%d), which this build of HDF5 cannot decode", what,
                       shown, (int) id);
        }
      else
        g_set_error (error, IMP_RECORDING_ERROR,
                     IMP_RECORDING_ERROR_UNSUPPORTED,
                     "%s is compressed with HDF5 filter %d, which this "
                     "build of HDF5 cannot decode", what, (int) id);
      return FALSE;
    }

  return TRUE;
}

static void
set_holds_only (GError     **error,
                const char  *what,
                hsize_t      declared,
                double       held)
{
  if (held < 1.0)
    g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                 "%s declares %" G_GUINT64_FORMAT " samples per channel but "
                 "the file holds none of them; it is truncated or damaged",
                 what, (guint64) declared);
  else
    g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                 "%s declares %" G_GUINT64_FORMAT " samples per channel but "
                 "the file holds only about %.0f; it is truncated or "
                 "damaged", what, (guint64) declared, held);
}

gboolean
_imp_h5_check_storage (hid_t        dset,
                       const char  *what,
                       GError     **error)
{
  g_auto(ImpH5Id) dcpl = H5Dget_create_plist (dset);
  g_auto(ImpH5Id) space = H5Dget_space (dset);
  g_auto(ImpH5Id) type = H5Dget_type (dset);
  g_auto(ImpH5Id) file = H5Iget_file_id (dset);
  hsize_t dims[H5S_MAX_RANK] = { 0 };
  hsize_t chunk[H5S_MAX_RANK] = { 0 };
  double row_bytes = 1.0;
  double per_row_chunks = 1.0;
  double expected_chunks = 1.0;
  hsize_t file_size = 0;
  hsize_t storage;
  size_t type_size;
  int rank;

  if (dcpl < 0 || space < 0 || type < 0)
    return TRUE;
  if (!check_filters (dcpl, what, error))
    return FALSE;
  rank = H5Sget_simple_extent_ndims (space);
  type_size = H5Tget_size (type);
  if (rank < 1 || type_size == 0)
    return TRUE;
  H5Sget_simple_extent_dims (space, dims, NULL);
  if (H5Sget_simple_extent_npoints (space) == 0)
    return TRUE;
  for (int d = 1; d < rank; d++)
    row_bytes *= (double) dims[d];
  row_bytes *= (double) type_size;
  if (file >= 0)
    H5Fget_filesize (file, &file_size);
  storage = H5Dget_storage_size (dset);

  switch (H5Pget_layout (dcpl))
    {
    case H5D_CONTIGUOUS:
      {
        haddr_t at = H5Dget_offset (dset);
        double want = row_bytes * (double) dims[0];

        if ((double) storage < want)
          {
            set_holds_only (error, what, dims[0], storage / row_bytes);
            return FALSE;
          }
        if (at != HADDR_UNDEF && file_size > 0
            && (double) at + want > (double) file_size)
          {
            set_holds_only (error, what, dims[0],
                            ((double) file_size - (double) at) / row_bytes);
            return FALSE;
          }
        return TRUE;
      }
    case H5D_CHUNKED:
      {
        hsize_t allocated = 0;

        if (H5Pget_chunk (dcpl, rank, chunk) != rank)
          return TRUE;
        for (int d = 0; d < rank; d++)
          {
            double per_dim;

            if (chunk[d] == 0)
              {
                g_set_error (error, IMP_RECORDING_ERROR,
                             IMP_RECORDING_ERROR_MALFORMED,
                             "%s has chunks of size 0; it is damaged", what);
                return FALSE;
              }
            per_dim = ceil ((double) dims[d] / (double) chunk[d]);
            expected_chunks *= per_dim;
            if (d > 0)
              per_row_chunks *= per_dim;
          }
        /* A chunk never written reads as the fill value: zeros that were
         * never recorded. */
        /* HDF5 1.10 refuses H5S_ALL here: it wants the dataspace. */
        if (H5Dget_num_chunks (dset, space, &allocated) < 0)
          return TRUE;
        if ((double) allocated < expected_chunks)
          {
            set_holds_only (error, what, dims[0],
                            MIN ((double) dims[0],
                                 floor (allocated / per_row_chunks)
                                 * chunk[0]));
            return FALSE;
          }
        if (file_size > 0 && storage > file_size)
          {
            set_holds_only (error, what, dims[0],
                            (double) dims[0] * file_size / storage);
            return FALSE;
          }
        return TRUE;
      }
    case H5D_COMPACT:
    case H5D_VIRTUAL:
    case H5D_LAYOUT_ERROR:
    case H5D_NLAYOUTS:
    default:
      return TRUE;
    }
}

gint64
_imp_h5_dataset_length (hid_t        dset,
                        const char  *what,
                        GError     **error)
{
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  hsize_t dims[1];

  space = H5Dget_space (dset);
  if (space < 0 || H5Sget_simple_extent_ndims (space) != 1)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s is not a one-dimensional dataset", what);
      return -1;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);

  return (gint64) dims[0];
}

char **
_imp_h5_read_strings (hid_t     dset,
                      hsize_t   n,
                      GError  **error)
{
  g_auto(ImpH5Id) ftype = H5I_INVALID_HID;
  g_auto(ImpH5Id) mtype = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(GStrv) result = NULL;
  hsize_t dims[1];

  ftype = H5Dget_type (dset);
  space = H5Dget_space (dset);
  if (H5Tget_class (ftype) != H5T_STRING
      || H5Sget_simple_extent_ndims (space) != 1)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "expected a one-dimensional string dataset");
      return NULL;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  if (dims[0] != n)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "expected %" G_GUINT64_FORMAT " strings, found %"
                   G_GUINT64_FORMAT, (guint64) n, (guint64) dims[0]);
      return NULL;
    }

  result = g_new0 (char *, n + 1);
  mtype = H5Tcopy (H5T_C_S1);
  if (n == 0)
    return g_steal_pointer (&result);

  if (H5Tis_variable_str (ftype) > 0)
    {
      g_autofree char **buf = g_new0 (char *, n);

      H5Tset_size (mtype, H5T_VARIABLE);
      H5Tset_cset (mtype, H5Tget_cset (ftype));
      if (H5Dread (dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        goto fail;
      for (hsize_t i = 0; i < n; i++)
        result[i] = g_strdup (buf[i] != NULL ? buf[i] : "");
      H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buf);
    }
  else
    {
      size_t size = H5Tget_size (ftype);
      g_autofree char *buf = NULL;

      if (size == 0)
        goto fail;
      buf = g_malloc0 (size * n + 1);
      H5Tset_size (mtype, size);
      H5Tset_strpad (mtype, H5Tget_strpad (ftype));
      if (H5Dread (dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        goto fail;
      for (hsize_t i = 0; i < n; i++)
        {
          result[i] = g_strndup (buf + i * size, size);
          if (H5Tget_strpad (ftype) == H5T_STR_SPACEPAD)
            g_strchomp (result[i]);
        }
    }

  return g_steal_pointer (&result);

fail:
  {
    g_autofree char *msg = _imp_h5_error_text ();

    g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                 "cannot read strings: %s", msg);
  }
  return NULL;
}

static gboolean
write_attr_string (hid_t        obj,
                   const char  *name,
                   const char  *value)
{
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  space = H5Screate (H5S_SCALAR);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0)
    return FALSE;

  return H5Awrite (attr, type, &value) >= 0;
}

static gboolean
write_attr_scalar (hid_t        obj,
                   const char  *name,
                   hid_t        file_type,
                   hid_t        mem_type,
                   const void  *value)
{
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  space = H5Screate (H5S_SCALAR);
  attr = H5Acreate2 (obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0)
    return FALSE;

  return H5Awrite (attr, mem_type, value) >= 0;
}

static gboolean
write_dataset_1d (hid_t        loc,
                  const char  *name,
                  hid_t        file_type,
                  hid_t        mem_type,
                  hsize_t      n,
                  const void  *values)
{
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;

  space = H5Screate_simple (1, &n, NULL);
  dset = H5Dcreate2 (loc, name, file_type, space,
                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (dset < 0)
    return FALSE;
  if (n == 0)
    return TRUE;

  return H5Dwrite (dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   values) >= 0;
}

static gboolean
write_strings_1d (hid_t               loc,
                  const char         *name,
                  hsize_t             n,
                  const char * const *values)
{
  g_auto(ImpH5Id) type = H5I_INVALID_HID;

  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);

  return write_dataset_1d (loc, name, type, type, n, values);
}

/* Writer */

struct _ImpNativeWriter
{
  char        *path;
  char        *tmp_path;
  guint        n_channels;
  double       sample_rate;
  hid_t        file;
  hid_t        data;
  hsize_t      chunk_samples;
  gint16      *buffer;       /* chunk_samples × n_channels, time-major */
  gint64       buffered;     /* samples held in buffer */
  gint64       written;      /* samples in /data */
  char       **labels;
  char       **units;
  double      *gain;
  double      *offset;
  double      *x_um;
  double      *y_um;
  guint8      *access;
  GArray      *sweeps;       /* of ImpSweep */
  GHashTable  *attributes;
  gboolean     failed;
  gboolean     closed;
};

static void
set_h5_error (GError     **error,
              const char  *what)
{
  g_autofree char *msg = _imp_h5_error_text ();

  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
               "%s: %s", what, msg);
}

static gboolean
writer_create_file (ImpNativeWriter  *self,
                    GError          **error)
{
  g_auto(ImpH5Id) dcpl = H5I_INVALID_HID;
  g_auto(ImpH5Id) dapl = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  hsize_t dims[2] = { 0, self->n_channels };
  hsize_t maxdims[2] = { H5S_UNLIMITED, self->n_channels };
  hsize_t chunk[2];

  self->file = H5Fcreate (self->tmp_path, H5F_ACC_EXCL,
                          H5P_DEFAULT, H5P_DEFAULT);
  if (self->file < 0)
    {
      set_h5_error (error, "Cannot create the recording file");
      return FALSE;
    }

  chunk[0] = self->chunk_samples;
  chunk[1] = MIN (CHUNK_CHANNELS, self->n_channels);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, 2, chunk);
  /* Every chunk is written in full; skip writing fill values first. */
  H5Pset_fill_time (dcpl, H5D_FILL_TIME_NEVER);
  /* Whole chunk rows are written at once, so no cache is needed. */
  dapl = H5Pcreate (H5P_DATASET_ACCESS);
  H5Pset_chunk_cache (dapl, 0, 0, 1.0);
  space = H5Screate_simple (2, dims, maxdims);
  self->data = H5Dcreate2 (self->file, "data", H5T_STD_I16LE, space,
                           H5P_DEFAULT, dcpl, dapl);
  if (self->data < 0)
    {
      set_h5_error (error, "Cannot create the /data dataset");
      return FALSE;
    }

  return TRUE;
}

static void
writer_close_handles (ImpNativeWriter *self)
{
  _imp_h5_id_close (self->data);
  self->data = H5I_INVALID_HID;
  _imp_h5_id_close (self->file);
  self->file = H5I_INVALID_HID;
}

/**
 * imp_native_writer_new:
 * @path: where the file will be
 * @n_channels: number of channels, at least 1
 * @sample_rate: sampling rate in Hz
 * @error: return location for a #GError
 *
 * Starts a native recording. Nothing appears at @path until
 * imp_native_writer_close() succeeds.
 *
 * Returns: (transfer full) (nullable): a writer, or %NULL with @error set
 */
ImpNativeWriter *
imp_native_writer_new (const char  *path,
                       guint        n_channels,
                       double       sample_rate,
                       GError     **error)
{
  g_autoptr(ImpNativeWriter) self = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n_channels == 0 || n_channels > IMP_RECORDING_MAX_CHANNELS)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "A recording needs 1 to %u channels, not %u",
                   IMP_RECORDING_MAX_CHANNELS, n_channels);
      return NULL;
    }
  if (!isfinite (sample_rate) || sample_rate <= 0.0
      || sample_rate > IMP_RECORDING_MAX_RATE_HZ)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "The sampling rate must be above 0 and at most %g Hz, "
                   "not %g", IMP_RECORDING_MAX_RATE_HZ, sample_rate);
      return NULL;
    }

  self = g_new0 (ImpNativeWriter, 1);
  self->path = g_strdup (path);
  self->tmp_path = g_strdup_printf ("%s.tmp-%08x", path, g_random_int ());
  self->n_channels = n_channels;
  self->sample_rate = sample_rate;
  self->file = H5I_INVALID_HID;
  self->data = H5I_INVALID_HID;
  self->chunk_samples = CHUNK_SAMPLES;
  self->buffer = g_new (gint16, (gsize) self->chunk_samples * n_channels);
  self->labels = g_new0 (char *, n_channels + 1);
  self->units = g_new0 (char *, n_channels + 1);
  self->gain = g_new (double, n_channels);
  self->offset = g_new0 (double, n_channels);
  self->x_um = g_new (double, n_channels);
  self->y_um = g_new (double, n_channels);
  self->access = g_new0 (guint8, n_channels);
  for (guint c = 0; c < n_channels; c++)
    {
      self->labels[c] = g_strdup_printf ("ch%u", c);
      self->units[c] = g_strdup ("");
      self->gain[c] = 1.0;
      self->x_um[c] = NAN;
      self->y_um[c] = NAN;
    }
  self->sweeps = g_array_new (FALSE, FALSE, sizeof (ImpSweep));
  self->attributes = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            g_free, g_free);

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      ok = writer_create_file (self, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();
  if (!ok)
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * imp_native_writer_set_channel:
 * @self: a writer
 * @index: the channel
 * @label: (nullable): a short name
 * @unit: (nullable): the physical unit ("mV", "pA", "uV", ...)
 * @gain: physical value of one count
 * @offset: physical value of count 0
 * @x_um: electrode x in µm, or NAN when unknown
 * @y_um: electrode y in µm, or NAN when unknown
 * @access: whether the channel has intracellular access
 *
 * Describes a channel; physical = count × @gain + @offset.
 */
void
imp_native_writer_set_channel (ImpNativeWriter *self,
                               guint            index,
                               const char      *label,
                               const char      *unit,
                               double           gain,
                               double           offset,
                               double           x_um,
                               double           y_um,
                               ImpAccess        access)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (index < self->n_channels);

  g_free (self->labels[index]);
  self->labels[index] = label != NULL
    ? g_strdup (label) : g_strdup_printf ("ch%u", index);
  g_free (self->units[index]);
  self->units[index] = g_strdup (unit != NULL ? unit : "");
  self->gain[index] = gain;
  self->offset[index] = offset;
  self->x_um[index] = x_um;
  self->y_um[index] = y_um;
  self->access[index] = (guint8) access;
}

static gboolean
writer_write_rows (ImpNativeWriter  *self,
                   const gint16     *counts,
                   gint64            n_samples,
                   GError          **error)
{
  g_auto(ImpH5Id) fspace = H5I_INVALID_HID;
  g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
  hsize_t extent[2] = { self->written + n_samples, self->n_channels };
  hsize_t start[2] = { self->written, 0 };
  hsize_t count[2] = { n_samples, self->n_channels };

  if (H5Dset_extent (self->data, extent) < 0)
    {
      set_h5_error (error, "Cannot grow the /data dataset");
      return FALSE;
    }
  fspace = H5Dget_space (self->data);
  H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  mspace = H5Screate_simple (2, count, NULL);
  if (H5Dwrite (self->data, H5T_NATIVE_INT16, mspace, fspace,
                H5P_DEFAULT, counts) < 0)
    {
      set_h5_error (error, "Cannot write samples");
      return FALSE;
    }
  self->written += n_samples;

  return TRUE;
}

static gboolean
writer_append (ImpNativeWriter  *self,
               const gint16     *counts,
               gint64            n_samples,
               GError          **error)
{
  gint64 chunk = self->chunk_samples;
  gsize row = self->n_channels;

  while (n_samples > 0)
    {
      gint64 take;

      /* Whole chunk rows go straight from the caller's block. */
      if (self->buffered == 0 && n_samples >= chunk)
        {
          take = n_samples - n_samples % chunk;
          if (!writer_write_rows (self, counts, take, error))
            return FALSE;
          counts += (gsize) take * row;
          n_samples -= take;
          continue;
        }

      take = MIN (chunk - self->buffered, n_samples);
      memcpy (self->buffer + (gsize) self->buffered * row, counts,
              (gsize) take * row * sizeof (gint16));
      self->buffered += take;
      counts += (gsize) take * row;
      n_samples -= take;
      if (self->buffered == chunk)
        {
          if (!writer_write_rows (self, self->buffer, chunk, error))
            return FALSE;
          self->buffered = 0;
        }
    }

  return TRUE;
}

/**
 * imp_native_writer_append:
 * @self: a writer
 * @counts: (array): @n_samples × n_channels counts, time-major:
 *   counts[s * n_channels + c]
 * @n_samples: samples per channel in this block
 * @error: return location for a #GError
 *
 * Appends samples of every channel. Blocks of any size are accepted;
 * large blocks are fastest.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_native_writer_append (ImpNativeWriter  *self,
                          const gint16     *counts,
                          gint64            n_samples,
                          GError          **error)
{
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (counts != NULL || n_samples == 0, FALSE);
  g_return_val_if_fail (n_samples >= 0, FALSE);
  g_return_val_if_fail (!self->closed, FALSE);

  if (self->failed)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                           "An earlier write failed");
      return FALSE;
    }

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      ok = writer_append (self, counts, n_samples, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();
  if (!ok)
    self->failed = TRUE;

  return ok;
}

/**
 * imp_native_writer_add_sweep:
 * @self: a writer
 * @n_samples: length of the sweep
 * @start_s: when the sweep began, in seconds from the recording's start
 *
 * Declares the next sweep; sweeps follow one another in sample index
 * space and must together cover every appended sample.
 */
void
imp_native_writer_add_sweep (ImpNativeWriter *self,
                             gint64           n_samples,
                             double           start_s)
{
  ImpSweep sweep = { 0, n_samples, start_s };

  g_return_if_fail (self != NULL);
  g_return_if_fail (n_samples > 0);

  if (self->sweeps->len > 0)
    {
      const ImpSweep *last = &g_array_index (self->sweeps, ImpSweep,
                                             self->sweeps->len - 1);

      sweep.start_sample = last->start_sample + last->n_samples;
    }
  g_array_append_val (self->sweeps, sweep);
}

/**
 * imp_native_writer_set_attribute:
 * @self: a writer
 * @key: a name
 * @value: (nullable): text
 *
 * Stores free-form text with the recording (for example the simulator's
 * seed); read back with imp_recording_get_attribute().
 */
void
imp_native_writer_set_attribute (ImpNativeWriter *self,
                                 const char      *key,
                                 const char      *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (key != NULL && *key != '\0');

  g_hash_table_replace (self->attributes, g_strdup (key),
                        g_strdup (value != NULL ? value : ""));
}

static gboolean
writer_finish (ImpNativeWriter  *self,
               GError          **error)
{
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  g_autofree gint64 *starts = NULL;
  g_autofree gint64 *lengths = NULL;
  g_autofree double *times = NULL;
  g_autofree const char **keys = NULL;
  int version = IMP_NATIVE_FORMAT_VERSION;
  guint n_keys;
  guint n_sweeps;

  if (self->buffered > 0)
    {
      if (!writer_write_rows (self, self->buffer, self->buffered, error))
        return FALSE;
      self->buffered = 0;
    }

  if (self->written == 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "No samples were written");
      return FALSE;
    }
  for (guint c = 0; c < self->n_channels; c++)
    {
      if (!isfinite (self->gain[c]) || self->gain[c] == 0.0
          || !isfinite (self->offset[c]))
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "Channel %u has gain %g and offset %g; both must be "
                       "finite and the gain non-zero",
                       c, self->gain[c], self->offset[c]);
          return FALSE;
        }
    }

  if (self->sweeps->len == 0)
    imp_native_writer_add_sweep (self, self->written, 0.0);
  n_sweeps = self->sweeps->len;
  {
    const ImpSweep *last = &g_array_index (self->sweeps, ImpSweep,
                                           n_sweeps - 1);

    if (last->start_sample + last->n_samples != self->written)
      {
        g_set_error (error, IMP_RECORDING_ERROR,
                     IMP_RECORDING_ERROR_MALFORMED,
                     "The sweeps cover %" G_GINT64_FORMAT " samples but %"
                     G_GINT64_FORMAT " were written",
                     last->start_sample + last->n_samples, self->written);
        return FALSE;
      }
  }

  if (!write_attr_string (self->file, "imprint_format", NATIVE_FORMAT_NAME)
      || !write_attr_scalar (self->file, "imprint_format_version",
                             H5T_STD_I32LE, H5T_NATIVE_INT, &version)
      || !write_attr_scalar (self->file, "sample_rate_hz",
                             H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                             &self->sample_rate)
      || !write_attr_string (self->file, "created_by",
                             "Imprint " PACKAGE_VERSION)
      || !write_attr_string (self->file, "created_utc", created))
    goto fail;

  group = H5Gcreate2 (self->file, "channels",
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0
      || !write_strings_1d (group, "label", self->n_channels,
                            (const char * const *) self->labels)
      || !write_strings_1d (group, "unit", self->n_channels,
                            (const char * const *) self->units)
      || !write_dataset_1d (group, "gain", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                            self->n_channels, self->gain)
      || !write_dataset_1d (group, "offset", H5T_IEEE_F64LE,
                            H5T_NATIVE_DOUBLE, self->n_channels, self->offset)
      || !write_dataset_1d (group, "x_um", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                            self->n_channels, self->x_um)
      || !write_dataset_1d (group, "y_um", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                            self->n_channels, self->y_um)
      || !write_dataset_1d (group, "access", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                            self->n_channels, self->access))
    goto fail;
  _imp_h5_id_close (_imp_h5_steal (&group));

  starts = g_new (gint64, n_sweeps);
  lengths = g_new (gint64, n_sweeps);
  times = g_new (double, n_sweeps);
  for (guint i = 0; i < n_sweeps; i++)
    {
      const ImpSweep *sw = &g_array_index (self->sweeps, ImpSweep, i);

      starts[i] = sw->start_sample;
      lengths[i] = sw->n_samples;
      times[i] = sw->start_s;
    }
  group = H5Gcreate2 (self->file, "sweeps",
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0
      || !write_dataset_1d (group, "start_sample", H5T_STD_I64LE,
                            H5T_NATIVE_INT64, n_sweeps, starts)
      || !write_dataset_1d (group, "n_samples", H5T_STD_I64LE,
                            H5T_NATIVE_INT64, n_sweeps, lengths)
      || !write_dataset_1d (group, "start_s", H5T_IEEE_F64LE,
                            H5T_NATIVE_DOUBLE, n_sweeps, times))
    goto fail;
  _imp_h5_id_close (_imp_h5_steal (&group));

  group = H5Gcreate2 (self->file, "metadata",
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0)
    goto fail;
  keys = (const char **) g_hash_table_get_keys_as_array (self->attributes,
                                                         &n_keys);
  for (guint i = 0; i < n_keys; i++)
    {
      if (!write_attr_string (group, keys[i],
                              g_hash_table_lookup (self->attributes,
                                                   keys[i])))
        goto fail;
    }
  _imp_h5_id_close (_imp_h5_steal (&group));

  if (H5Fflush (self->file, H5F_SCOPE_GLOBAL) < 0)
    goto fail;
  writer_close_handles (self);

  return TRUE;

fail:
  set_h5_error (error, "Cannot write the recording's metadata");
  return FALSE;
}

/**
 * imp_native_writer_close:
 * @self: a writer
 * @error: return location for a #GError
 *
 * Writes the metadata and moves the finished file to its path, replacing
 * any file there. On failure nothing is left behind.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_native_writer_close (ImpNativeWriter  *self,
                         GError          **error)
{
  gboolean ok = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!self->closed, FALSE);

  self->closed = TRUE;
  if (self->failed)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                           "An earlier write failed");
    }
  else
    {
      _imp_h5_lock ();
      H5E_BEGIN_TRY
        {
          ok = writer_finish (self, error);
        }
      H5E_END_TRY;
      _imp_h5_unlock ();
    }

  if (ok && g_rename (self->tmp_path, self->path) != 0)
    {
      int saved = errno;
      g_autofree char *display = g_filename_display_name (self->path);

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "Cannot move the finished recording to “%s”: %s",
                   display, g_strerror (saved));
      ok = FALSE;
    }
  if (!ok)
    {
      self->failed = TRUE;
      writer_close_handles (self);
      g_unlink (self->tmp_path);
    }

  return ok;
}

/**
 * imp_native_writer_free:
 * @self: (transfer full): a writer
 *
 * Frees the writer; an unclosed file is abandoned and deleted.
 */
void
imp_native_writer_free (ImpNativeWriter *self)
{
  if (self == NULL)
    return;

  if (!self->closed)
    {
      writer_close_handles (self);
      g_unlink (self->tmp_path);
    }
  g_free (self->path);
  g_free (self->tmp_path);
  g_free (self->buffer);
  g_strfreev (self->labels);
  g_strfreev (self->units);
  g_free (self->gain);
  g_free (self->offset);
  g_free (self->x_um);
  g_free (self->y_um);
  g_free (self->access);
  g_array_unref (self->sweeps);
  g_hash_table_unref (self->attributes);
  g_free (self);
}

/* Reader */

typedef struct
{
  hid_t           file;
  hid_t           data;
  hsize_t         chunk_samples;
  /* Strided reads of blocks far apart read them from the file directly
   * when the chunks are stored as they are read: unfiltered little-endian
   * int16 (chunk_cols channels wide). */
  gboolean        direct;
  hsize_t         chunk_cols;
  GHashTable     *chunk_addr;  /* (row << 20 | col) -> file address */
  /* for reading chunks raw (imp-stream.c); layout.rows is 0 when they
   * cannot be (not chunked, or a filter other than shuffle and deflate) */
  ImpChunkLayout  layout;
} NativeData;

static void
native_close (gpointer data)
{
  NativeData *nd = data;

  _imp_h5_id_close (nd->data);
  _imp_h5_id_close (nd->file);
  g_clear_pointer (&nd->chunk_addr, g_hash_table_unref);
  g_free (nd);
}

static gboolean
native_read_inner (ImpRecording  *self,
                   guint          first_channel,
                   guint          n_channels,
                   gint64         first_sample,
                   gint64         n_samples,
                   float         *out,
                   GError       **error)
{
  NativeData *nd = self->backend_data;
  g_auto(ImpH5Id) fspace = H5I_INVALID_HID;
  g_autofree gint16 *buf = NULL;
  gint64 block, tile;
  gint64 done = 0;

  /* Read whole chunk rows where possible so each chunk is fetched once. */
  block = MAX (1, READ_BLOCK_VALUES / n_channels);
  if ((hsize_t) block > nd->chunk_samples)
    block -= block % nd->chunk_samples;
  block = MIN (block, n_samples);
  buf = g_new (gint16, (gsize) block * n_channels);
  tile = CLAMP (READ_TILE_BYTES / (gint64) (sizeof (gint16) * n_channels),
                16, 4096);
  fspace = H5Dget_space (nd->data);

  while (done < n_samples)
    {
      g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
      gint64 take = MIN (block, n_samples - done);
      hsize_t start[2] = { first_sample + done, first_channel };
      hsize_t count[2] = { take, n_channels };

      H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL, count, NULL);
      mspace = H5Screate_simple (2, count, NULL);
      if (H5Dread (nd->data, H5T_NATIVE_INT16, mspace, fspace,
                   H5P_DEFAULT, buf) < 0)
        {
          g_autofree char *msg = _imp_h5_error_text ();

          g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                       "Cannot read samples %" G_GINT64_FORMAT " to %"
                       G_GINT64_FORMAT ": %s", first_sample + done,
                       first_sample + done + take - 1, msg);
          return FALSE;
        }

      /* Channel by channel over tiles of rows that stay in the cache:
       * a channel's samples are n_channels apart in the buffer. */
      for (gint64 s0 = 0; s0 < take; s0 += tile)
        for (guint c = 0; c < n_channels; c++)
          {
            const ImpChannel *ch = &g_array_index (self->channels,
                                                   ImpChannel,
                                                   first_channel + c);
            float *dst = out + (gsize) c * n_samples + done;
            const gint16 *src = buf + c;
            gint64 s1 = MIN (take, s0 + tile);

            for (gint64 s = s0; s < s1; s++)
              dst[s] = (float) (src[(gsize) s * n_channels] * ch->gain
                                + ch->offset);
          }
      done += take;
    }

  return TRUE;
}

static gboolean
native_read (ImpRecording  *self,
             guint          first_channel,
             guint          n_channels,
             gint64         first_sample,
             gint64         n_samples,
             float         *out,
             GError       **error)
{
  gboolean ok;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      ok = native_read_inner (self, first_channel, n_channels,
                              first_sample, n_samples, out, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return ok;
}

static gboolean
native_chunk_layout (ImpRecording   *self,
                     ImpChunkLayout *layout)
{
  NativeData *nd = self->backend_data;

  if (nd->layout.rows == 0)
    return FALSE;
  *layout = nd->layout;
  return TRUE;
}

static gboolean
native_read_chunk_inner (NativeData  *nd,
                         gint64       row,
                         guint        col,
                         GByteArray  *raw,
                         guint32     *filter_mask,
                         GError     **error)
{
  hsize_t offset[2] = { (hsize_t) row * nd->layout.rows,
                        (hsize_t) col * nd->layout.cols };
  hsize_t size = 0;

  if (H5Dget_chunk_storage_size (nd->data, offset, &size) < 0)
    size = 0;   /* never written: HDF5 reads its fill value, zeros */
  g_byte_array_set_size (raw, (guint) size);
  if (size == 0)
    return TRUE;
  if (size > G_MAXUINT
      || H5Dread_chunk (nd->data, H5P_DEFAULT, offset, filter_mask,
                        raw->data) < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "Cannot read the chunk of samples %" G_GUINT64_FORMAT
                   " and channels %" G_GUINT64_FORMAT ": %s",
                   (guint64) offset[0], (guint64) offset[1], msg);
      return FALSE;
    }
  return TRUE;
}

/* Where chunk (@row, @col) of /data starts in the file, or HADDR_UNDEF
 * when it was never written or is filtered. With the HDF5 lock held. */
static haddr_t
chunk_address (NativeData *nd,
               gint64      row,
               guint       col)
{
  guint64 key = ((guint64) row << 20) | col;
  hsize_t offset[2] = { (hsize_t) row * nd->chunk_samples,
                        (hsize_t) col * nd->chunk_cols };
  unsigned mask = 0;
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  guint64 *found;

  found = g_hash_table_lookup (nd->chunk_addr, &key);
  if (found != NULL)
    return (haddr_t) *found;

  if (H5Dget_chunk_info_by_coord (nd->data, offset, &mask, &addr,
                                  &size) < 0 || mask != 0 ||
      size != nd->chunk_samples * nd->chunk_cols * sizeof (gint16))
    addr = HADDR_UNDEF;

  g_hash_table_insert (nd->chunk_addr, g_memdup2 (&key, sizeof key),
                       g_memdup2 (&(guint64) { addr }, sizeof (guint64)));
  return addr;
}

/* Block @b (@width samples from sample @r of chunk row @row) of a strided
 * read, straight from the file: for each chunk it spans, its rows hold
 * chunk_cols channels side by side. FALSE to read it through HDF5. */
static gboolean
read_block_direct (ImpRecording *self,
                   gint64        row,
                   gint64        r,
                   guint         first_channel,
                   guint         n_channels,
                   gint64        width,
                   gint64        b,
                   gint64        n_out,
                   gint16       *raw,
                   float        *out)
{
  NativeData *nd = self->backend_data;
  guint cols = nd->chunk_cols;
  gsize bytes = (gsize) width * cols * sizeof (gint16);

  for (guint cc = first_channel / cols;
       cc <= (first_channel + n_channels - 1) / cols;
       cc++)
    {
      haddr_t addr = chunk_address (nd, row, cc);
      guint lo = MAX (first_channel, cc * cols);
      guint hi = MIN (first_channel + n_channels, (cc + 1) * cols);

      if (addr == HADDR_UNDEF ||
          pread (self->fd, raw, bytes,
                 (off_t) (addr + r * cols * sizeof (gint16))) !=
          (gssize) bytes)
        return FALSE;

      for (guint c = lo; c < hi; c++)
        {
          const ImpChannel *ch = &g_array_index (self->channels, ImpChannel,
                                                 c);
          float *dst = out + (gsize) (c - first_channel) * n_out + b * width;
          const gint16 *src = raw + (c - cc * cols);

          for (gint64 s = 0; s < width; s++)
            dst[s] = (float) (src[(gsize) s * cols] * ch->gain + ch->offset);
        }
    }

  return TRUE;
}

/* Blocks at least 1/64 of a chunk row apart are read directly, a KiB or
 * so each, instead of through the chunk cache, which reads whole chunks
 * (1 MiB): measured on a 4,096-channel recording, the first zoomed-out
 * view took 120 to 190 ms this way and 200 to 390 ms at 1/4, with the
 * file in memory; from disk the difference is the 1 MiB. Closer blocks
 * share their chunks through the cache. */
#define DIRECT_MIN_STRIDE_FRACTION 64

static gboolean
native_read_strided_inner (ImpRecording  *self,
                           guint          first_channel,
                           guint          n_channels,
                           gint64         first_sample,
                           gint64         stride,
                           gint64         width,
                           gint64         n_blocks,
                           float         *out,
                           GError       **error)
{
  NativeData *nd = self->backend_data;
  gint64 rows = nd->chunk_samples;
  gint64 n_out = n_blocks * width;
  gboolean direct = nd->direct && self->fd >= 0 &&
                    stride >= rows / DIRECT_MIN_STRIDE_FRACTION;
  g_autofree gint16 *raw = NULL;
  g_autofree float *block = g_new (float, (gsize) n_channels * width);

  if (direct)
    raw = g_new (gint16, (gsize) width * nd->chunk_cols);

  for (gint64 b = 0; b < n_blocks; b++)
    {
      gint64 start = first_sample + b * stride;
      gint64 row = start / rows;
      gint64 r = start % rows;

      if (direct && r + width <= rows &&
          read_block_direct (self, row, r, first_channel, n_channels, width,
                             b, n_out, raw, out))
        continue;

      if (!native_read_inner (self, first_channel, n_channels, start, width,
                              block, error))
        return FALSE;
      for (guint c = 0; c < n_channels; c++)
        memcpy (out + (gsize) c * n_out + b * width,
                block + (gsize) c * width, width * sizeof (float));
    }

  return TRUE;
}

static gboolean
native_read_chunk (ImpRecording  *self,
                   gint64         row,
                   guint          col,
                   GByteArray    *raw,
                   guint32       *filter_mask,
                   GError       **error)
{
  gboolean ok;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      ok = native_read_chunk_inner (self->backend_data, row, col, raw,
                                    filter_mask, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return ok;
}

static gboolean
native_read_strided (ImpRecording  *self,
                     guint          first_channel,
                     guint          n_channels,
                     gint64         first_sample,
                     gint64         stride,
                     gint64         width,
                     gint64         n_blocks,
                     float         *out,
                     GError       **error)
{
  gboolean ok;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      ok = native_read_strided_inner (self, first_channel, n_channels,
                                      first_sample, stride, width,
                                      n_blocks, out, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return ok;
}

static const ImpRecordingBackend native_backend = {
  .format = "Imprint native",
  .read = native_read,
  .close = native_close,
  .read_strided = native_read_strided,
  .chunk_layout = native_chunk_layout,
  .read_chunk = native_read_chunk,
};

/* The layout of /data's chunks, when they can be read raw: int16 chunks
 * whose filters are at most shuffle and deflate. Otherwise rows is 0 and
 * reads go through HDF5's own pipeline. */
static void
native_find_layout (hid_t           dcpl,
                    hid_t           type,
                    const hsize_t  *chunk,
                    ImpChunkLayout *layout)
{
  int n;

  memset (layout, 0, sizeof *layout);
  if (H5Pget_layout (dcpl) != H5D_CHUNKED || chunk[0] == 0 || chunk[1] == 0
      || chunk[0] * chunk[1] > (hsize_t) G_MAXINT32 / 2)
    return;
  n = H5Pget_nfilters (dcpl);
  if (n < 0 || n > IMP_CHUNK_MAX_FILTERS)
    return;
  for (int i = 0; i < n; i++)
    {
      unsigned flags = 0;
      size_t n_values = 0;
      unsigned config = 0;
      H5Z_filter_t id = H5Pget_filter2 (dcpl, (unsigned) i, &flags,
                                        &n_values, NULL, 0, NULL, &config);

      if (id == H5Z_FILTER_DEFLATE)
        layout->filters[i] = IMP_CHUNK_FILTER_DEFLATE;
      else if (id == H5Z_FILTER_SHUFFLE)
        layout->filters[i] = IMP_CHUNK_FILTER_SHUFFLE;
      else
        return;
    }
  layout->n_filters = (guint) n;
  layout->swap_bytes = (H5Tget_order (type) == H5T_ORDER_BE)
                       != (G_BYTE_ORDER == G_BIG_ENDIAN);
  layout->cols = (guint) chunk[1];
  layout->rows = (gint64) chunk[0];
}

static gboolean
read_doubles (hid_t         group,
              const char   *name,
              hsize_t       n,
              gboolean      required,
              double      **values,
              GError      **error)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_autofree char *what = g_strdup_printf ("/channels/%s", name);
  gint64 len;

  *values = NULL;
  if (H5Lexists (group, name, H5P_DEFAULT) <= 0)
    {
      if (required)
        g_set_error (error, IMP_RECORDING_ERROR,
                     IMP_RECORDING_ERROR_MALFORMED,
                     "the %s dataset is missing", what);
      return !required;
    }
  dset = H5Dopen2 (group, name, H5P_DEFAULT);
  if (dset < 0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s is not a dataset", what);
      return FALSE;
    }
  len = _imp_h5_dataset_length (dset, what, error);
  if (len < 0)
    return FALSE;
  if ((hsize_t) len != n)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "%s has %" G_GINT64_FORMAT " entries but /data has %"
                   G_GUINT64_FORMAT " channels", what, len, (guint64) n);
      return FALSE;
    }
  *values = g_new0 (double, MAX (n, 1));
  if (n > 0 && H5Dread (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, *values) < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "cannot read %s as numbers: %s", what, msg);
      g_clear_pointer (values, g_free);
      return FALSE;
    }

  return TRUE;
}

static char **
read_channel_strings (hid_t        group,
                      const char  *name,
                      hsize_t      n,
                      GError     **error)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_autoptr(GError) local_error = NULL;
  char **result;

  if (H5Lexists (group, name, H5P_DEFAULT) <= 0
      || (dset = H5Dopen2 (group, name, H5P_DEFAULT)) < 0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the /channels/%s dataset is missing", name);
      return NULL;
    }
  result = _imp_h5_read_strings (dset, n, &local_error);
  if (result == NULL)
    g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                 "/channels/%s: %s (/data has %" G_GUINT64_FORMAT
                 " channels)", name, local_error->message, (guint64) n);

  return result;
}

static gboolean
read_sweeps (ImpRecording  *rec,
             hid_t          file,
             gint64         n_samples,
             GError       **error)
{
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_auto(ImpH5Id) d_start = H5I_INVALID_HID;
  g_auto(ImpH5Id) d_len = H5I_INVALID_HID;
  g_auto(ImpH5Id) d_time = H5I_INVALID_HID;
  g_autofree gint64 *starts = NULL;
  g_autofree gint64 *lengths = NULL;
  g_autofree double *times = NULL;
  gint64 n, n2, n3;
  gint64 next = 0;

  if (H5Lexists (file, "sweeps", H5P_DEFAULT) <= 0)
    {
      _imp_recording_add_sweep (rec, n_samples, 0.0);
      return TRUE;
    }
  group = H5Gopen2 (file, "sweeps", H5P_DEFAULT);
  if (group < 0
      || H5Lexists (group, "start_sample", H5P_DEFAULT) <= 0
      || H5Lexists (group, "n_samples", H5P_DEFAULT) <= 0
      || H5Lexists (group, "start_s", H5P_DEFAULT) <= 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "/sweeps must hold start_sample, n_samples and "
                           "start_s datasets");
      return FALSE;
    }
  d_start = H5Dopen2 (group, "start_sample", H5P_DEFAULT);
  d_len = H5Dopen2 (group, "n_samples", H5P_DEFAULT);
  d_time = H5Dopen2 (group, "start_s", H5P_DEFAULT);
  if ((n = _imp_h5_dataset_length (d_start, "/sweeps/start_sample",
                                   error)) < 0
      || (n2 = _imp_h5_dataset_length (d_len, "/sweeps/n_samples",
                                       error)) < 0
      || (n3 = _imp_h5_dataset_length (d_time, "/sweeps/start_s",
                                       error)) < 0)
    return FALSE;
  if (n != n2 || n != n3 || n == 0 || n > n_samples)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the /sweeps datasets have %" G_GINT64_FORMAT ", %"
                   G_GINT64_FORMAT " and %" G_GINT64_FORMAT " entries; "
                   "they must have the same, non-zero length",
                   n, n2, n3);
      return FALSE;
    }
  starts = g_new (gint64, n);
  lengths = g_new (gint64, n);
  times = g_new (double, n);
  if (H5Dread (d_start, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
               H5P_DEFAULT, starts) < 0
      || H5Dread (d_len, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                  H5P_DEFAULT, lengths) < 0
      || H5Dread (d_time, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                  H5P_DEFAULT, times) < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "cannot read /sweeps: %s", msg);
      return FALSE;
    }
  for (gint64 i = 0; i < n; i++)
    {
      if (starts[i] != next || lengths[i] <= 0
          || lengths[i] > n_samples - next)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED,
                       "sweep %" G_GINT64_FORMAT " (start %" G_GINT64_FORMAT
                       ", %" G_GINT64_FORMAT " samples) does not follow the "
                       "previous one inside the %" G_GINT64_FORMAT
                       " samples of /data", i, starts[i], lengths[i],
                       n_samples);
          return FALSE;
        }
      _imp_recording_add_sweep (rec, lengths[i], times[i]);
      next += lengths[i];
    }
  if (next != n_samples)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "the sweeps cover %" G_GINT64_FORMAT " samples but /data "
                   "holds %" G_GINT64_FORMAT, next, n_samples);
      return FALSE;
    }

  return TRUE;
}

static herr_t
metadata_attr_cb (hid_t              loc,
                  const char        *name,
                  const H5A_info_t  *info,
                  void              *user_data)
{
  ImpRecording *rec = user_data;
  g_autofree char *value = _imp_h5_attr_string (loc, name);

  if (value != NULL)
    _imp_recording_set_attribute (rec, name, value);
  return 0;
}

/* A required numeric root attribute: missing and "not a number" are
 * told apart. */
static gboolean
native_number (hid_t        file,
               const char  *name,
               double      *value,
               int          code,
               GError     **error)
{
  switch (_imp_h5_attr_number (file, name, value))
    {
    case IMP_H5_ATTR_OK:
      return TRUE;
    case IMP_H5_ATTR_ABSENT:
      g_set_error (error, IMP_RECORDING_ERROR, code,
                   "the %s attribute is missing", name);
      return FALSE;
    case IMP_H5_ATTR_NOT_NUMBER:
      g_set_error (error, IMP_RECORDING_ERROR, code,
                   "the %s attribute is not a number", name);
      return FALSE;
    case IMP_H5_ATTR_UNREADABLE:
    default:
      g_set_error (error, IMP_RECORDING_ERROR, code,
                   "the %s attribute cannot be read", name);
      return FALSE;
    }
}

static ImpRecording *
native_open_inner (const char  *path,
                   GError     **error)
{
  g_auto(ImpH5Id) file = H5I_INVALID_HID;
  g_auto(ImpH5Id) data = H5I_INVALID_HID;
  g_auto(ImpH5Id) dapl = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_auto(ImpH5Id) dcpl = H5I_INVALID_HID;
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree char *format = NULL;
  g_autofree double *gain = NULL;
  g_autofree double *offset = NULL;
  g_autofree double *x_um = NULL;
  g_autofree double *y_um = NULL;
  g_autofree double *access = NULL;
  g_auto(GStrv) labels = NULL;
  g_auto(GStrv) units = NULL;
  g_autofree char *fmt_name = NULL;
  NativeData *nd;
  double version;
  double rate;
  hsize_t dims[2];
  hsize_t chunk[2] = { CHUNK_SAMPLES, CHUNK_CHANNELS };

  _imp_probe_stage ("its superblock");
  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "it looks like an HDF5 file but HDF5 cannot open it: %s",
                   msg);
      return NULL;
    }

  _imp_probe_stage ("its root attributes");
  format = _imp_h5_attr_string (file, "imprint_format");
  if (format == NULL && !_imp_h5_attr_unreadable (file, "imprint_format",
                                                  error))
    return NULL;
  if (g_strcmp0 (format, NATIVE_FORMAT_NAME) != 0)
    return NULL;

  if (!native_number (file, "imprint_format_version", &version,
                      IMP_RECORDING_ERROR_MALFORMED, error))
    return NULL;
  if (version > IMP_NATIVE_FORMAT_VERSION)
    {
      g_set_error (error, IMP_RECORDING_ERROR,
                   IMP_RECORDING_ERROR_UNSUPPORTED,
                   "it uses version %g of the Imprint format; this program "
                   "reads up to version %d", version,
                   IMP_NATIVE_FORMAT_VERSION);
      return NULL;
    }
  if (version < 1 || version != floor (version))
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "imprint_format_version is %g, not a valid version",
                   version);
      return NULL;
    }
  if (!native_number (file, "sample_rate_hz", &rate,
                      IMP_RECORDING_ERROR_NO_RATE, error))
    return NULL;

  _imp_probe_stage ("its /data dataset");
  if (H5Lexists (file, "data", H5P_DEFAULT) <= 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the /data dataset is missing");
      return NULL;
    }
  dapl = H5Pcreate (H5P_DATASET_ACCESS);
  H5Pset_chunk_cache (dapl, READ_CACHE_SLOTS, READ_CACHE_BYTES, 0.75);
  data = H5Dopen2 (file, "data", dapl);
  if (data < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "/data cannot be opened as a dataset: %s", msg);
      return NULL;
    }
  space = H5Dget_space (data);
  if (H5Sget_simple_extent_ndims (space) != 2)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "/data has %d dimensions; it must have 2 "
                   "(samples × channels)",
                   H5Sget_simple_extent_ndims (space));
      return NULL;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  type = H5Dget_type (data);
  if (H5Tget_class (type) != H5T_INTEGER || H5Tget_size (type) != 2
      || H5Tget_sign (type) != H5T_SGN_2)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "/data must hold 16-bit signed integers");
      return NULL;
    }
  if (dims[1] == 0 || dims[1] > IMP_RECORDING_MAX_CHANNELS)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_MALFORMED,
                   "/data has %" G_GUINT64_FORMAT " channels; a recording "
                   "has 1 to %u", (guint64) dims[1],
                   IMP_RECORDING_MAX_CHANNELS);
      return NULL;
    }
  dcpl = H5Dget_create_plist (data);
  if (H5Pget_layout (dcpl) == H5D_CHUNKED)
    H5Pget_chunk (dcpl, 2, chunk);
  _imp_probe_stage ("the chunk index of /data");
  if (!_imp_h5_check_storage (data, "/data", error))
    return NULL;

  _imp_probe_stage ("its /channels table");
  if (H5Lexists (file, "channels", H5P_DEFAULT) <= 0
      || (group = H5Gopen2 (file, "channels", H5P_DEFAULT)) < 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "the /channels group is missing");
      return NULL;
    }
  labels = read_channel_strings (group, "label", dims[1], error);
  if (labels == NULL)
    return NULL;
  units = read_channel_strings (group, "unit", dims[1], error);
  if (units == NULL)
    return NULL;
  if (!read_doubles (group, "gain", dims[1], TRUE, &gain, error)
      || !read_doubles (group, "offset", dims[1], TRUE, &offset, error)
      || !read_doubles (group, "x_um", dims[1], FALSE, &x_um, error)
      || !read_doubles (group, "y_um", dims[1], FALSE, &y_um, error)
      || !read_doubles (group, "access", dims[1], FALSE, &access, error))
    return NULL;

  nd = g_new0 (NativeData, 1);
  nd->file = H5I_INVALID_HID;
  nd->data = H5I_INVALID_HID;
  nd->chunk_samples = MAX (chunk[0], 1);
  native_find_layout (dcpl, type, chunk, &nd->layout);
  nd->chunk_cols = MAX (chunk[1], 1);
  nd->direct = H5Pget_layout (dcpl) == H5D_CHUNKED &&
               H5Pget_nfilters (dcpl) == 0 &&
               H5Tget_order (type) == H5T_ORDER_LE &&
               G_BYTE_ORDER == G_LITTLE_ENDIAN;
  nd->chunk_addr = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                          g_free, g_free);
  rec = _imp_recording_new (path, &native_backend, nd);
  rec->sample_rate = rate;
  fmt_name = g_strdup_printf ("Imprint native v%d", (int) version);
  _imp_recording_set_format (rec, fmt_name);

  for (guint c = 0; c < dims[1]; c++)
    {
      _imp_recording_add_channel (rec, labels[c], units[c],
                                  gain[c], offset[c]);
      _imp_recording_set_raw_max (rec, c, 32768.0);
      if (x_um != NULL && y_um != NULL)
        _imp_recording_set_position (rec, c, x_um[c], y_um[c]);
      if (access != NULL && access[c] >= IMP_ACCESS_UNKNOWN
          && access[c] <= IMP_ACCESS_NONE)
        _imp_recording_set_access (rec, c, (ImpAccess) access[c]);
    }

  _imp_probe_stage ("its /sweeps table");
  if (!read_sweeps (rec, file, (gint64) dims[0], error))
    return NULL;

  _imp_probe_stage ("its /metadata attributes");
  if (H5Lexists (file, "metadata", H5P_DEFAULT) > 0)
    {
      g_auto(ImpH5Id) meta = H5Gopen2 (file, "metadata", H5P_DEFAULT);

      if (meta >= 0)
        H5Aiterate2 (meta, H5_INDEX_NAME, H5_ITER_INC, NULL,
                     metadata_attr_cb, rec);
    }

  nd->file = file;
  nd->data = data;
  file = H5I_INVALID_HID;
  data = H5I_INVALID_HID;

  return g_steal_pointer (&rec);
}

ImpRecording *
_imp_native_open (const char  *path,
                  GError     **error)
{
  ImpRecording *rec;

  if (!_imp_h5_is_hdf5 (path))
    return NULL;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      rec = native_open_inner (path, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return rec;
}
