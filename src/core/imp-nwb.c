/* imp-nwb.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "imp-recording-private.h"

/* NWB 2.x reader, on the HDF5 C API.
 *
 * Two kinds of recording are read from /acquisition:
 *
 * - Extracellular: an ElectricalSeries, data [time, channels], with its
 *   electrodes region into the electrodes table for labels and positions.
 *   If there are several, the largest is read and the others named in the
 *   warning.
 * - Intracellular: PatchClampSeries and its subtypes (CurrentClampSeries,
 *   IZeroClampSeries, VoltageClampSeries), one 1-D series per electrode
 *   and sweep. Each distinct electrode (and unit) becomes a channel; series
 *   are grouped into sweeps by sweep_number, or by start time when there is
 *   none. Stimulus series are ignored.
 *
 * Physical value = data × conversion (× channel_conversion) + offset, in
 * the series' unit, then normalised to mV or pA. */

#define MAX_ERR_NAMES 4

typedef enum
{
  KIND_NONE,
  KIND_ELECTRICAL,
  KIND_PATCH,
} SeriesKind;

/* One intracellular series as found in the file. */
typedef struct
{
  char     *name;
  hid_t     data;          /* the data dataset, kept open */
  gint64    n_samples;
  double    rate;
  double    start_s;
  gboolean  has_sweep_number;
  guint64   sweep_number;
  haddr_t   electrode;     /* identity of the electrode it records from */
  char     *electrode_name;
  char     *unit;          /* as written */
  double    conversion;
  double    offset;
  double    raw_max;       /* largest |stored value|, 0 for floats */
  guint     channel;       /* assigned when grouping */
} PatchSeries;

/* The piece of a sweep one channel contributes; data < 0 when the channel
 * has no series in that sweep. */
typedef struct
{
  hid_t   data;
  gint64  n_samples;
  double  gain;            /* canonical unit per stored value */
  double  offset;
} Piece;

typedef struct
{
  hid_t    file;
  /* extracellular */
  hid_t    data;
  int      rank;
  /* intracellular */
  guint    n_channels;
  guint    n_sweeps;
  Piece   *pieces;         /* n_sweeps × n_channels */
  GArray  *series;         /* of PatchSeries, owns the dataset ids */
} NwbData;

static void
patch_series_clear (gpointer data)
{
  PatchSeries *ps = data;

  g_free (ps->name);
  g_free (ps->electrode_name);
  g_free (ps->unit);
  _imp_h5_id_close (ps->data);
  ps->data = H5I_INVALID_HID;
}

static void
nwb_data_free (gpointer data)
{
  NwbData *nd = data;

  if (nd == NULL)
    return;
  g_clear_pointer (&nd->series, g_array_unref);
  g_free (nd->pieces);
  _imp_h5_id_close (nd->data);
  _imp_h5_id_close (nd->file);
  g_free (nd);
}

/* Natural order: "ic__Step__2" before "ic__Step__10". */
static int
natural_compare (const char *a,
                 const char *b)
{
  while (*a != '\0' && *b != '\0')
    {
      if (g_ascii_isdigit (*a) && g_ascii_isdigit (*b))
        {
          const char *ea = a, *eb = b;
          gsize la, lb;
          int cmp;

          while (*a == '0' && g_ascii_isdigit (a[1]))
            a++;
          while (*b == '0' && g_ascii_isdigit (b[1]))
            b++;
          for (ea = a; g_ascii_isdigit (*ea); ea++)
            ;
          for (eb = b; g_ascii_isdigit (*eb); eb++)
            ;
          la = ea - a;
          lb = eb - b;
          if (la != lb)
            return la < lb ? -1 : 1;
          cmp = strncmp (a, b, la);
          if (cmp != 0)
            return cmp;
          a = ea;
          b = eb;
          continue;
        }
      if (*a != *b)
        return (guchar) *a < (guchar) *b ? -1 : 1;
      a++;
      b++;
    }
  return (guchar) *a - (guchar) *b;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return natural_compare (*(const char * const *) a,
                          *(const char * const *) b);
}

static SeriesKind
series_kind (const char *type)
{
  static const char *patch_types[] = {
    "CurrentClampSeries",
    "IZeroClampSeries",
    "VoltageClampSeries",
    "PatchClampSeries",
  };

  if (type == NULL || strstr (type, "Stimulus") != NULL)
    return KIND_NONE;
  if (g_str_equal (type, "ElectricalSeries"))
    return KIND_ELECTRICAL;
  for (guint i = 0; i < G_N_ELEMENTS (patch_types); i++)
    if (g_str_equal (type, patch_types[i]))
      return KIND_PATCH;
  return KIND_NONE;
}

static void
set_malformed (GError     **error,
               const char  *format,
               ...) G_GNUC_PRINTF (2, 3);

static void
set_malformed (GError     **error,
               const char  *format,
               ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_MALFORMED, msg);
}

/* Reads a scalar numeric dataset (starting_time). */
static gboolean
read_scalar_double (hid_t        loc,
                    const char  *name,
                    double      *value)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  H5T_class_t cls;

  if (H5Lexists (loc, name, H5P_DEFAULT) <= 0)
    return FALSE;
  dset = H5Dopen2 (loc, name, H5P_DEFAULT);
  if (dset < 0)
    return FALSE;
  type = H5Dget_type (dset);
  cls = H5Tget_class (type);
  space = H5Dget_space (dset);
  if ((cls != H5T_FLOAT && cls != H5T_INTEGER)
      || H5Sget_simple_extent_npoints (space) != 1)
    return FALSE;

  return H5Dread (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                  value) >= 0;
}

/* How a TimeSeries is timed: its rate, and its sweeps (start sample,
 * length, start time): one, unless timestamps have gaps. */
typedef struct
{
  double  rate;
  GArray *sweeps;          /* of ImpSweep */
} Timing;

static void
timing_clear (Timing *t)
{
  g_clear_pointer (&t->sweeps, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Timing, timing_clear)

/* Timestamps are read this many at a time. */
#define TS_BLOCK           (1024 * 1024)
/* Intervals whose median is the sampling interval. */
#define TS_MEDIAN_SAMPLE   65536
/* An interval longer than this many sampling intervals is a gap between
 * sweeps; one shorter than TS_SHORT of them is an error. */
#define TS_GAP             1.5
#define TS_SHORT           0.5
/* How far a stretch's mean interval may stray from the median. */
#define TS_DRIFT           0.01
#define TS_MAX_GAPS        100000

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The median of the first intervals of @ts[0..n). */
static double
median_interval (const double *ts,
                 gint64        n)
{
  gint64 m = MIN (n - 1, TS_MEDIAN_SAMPLE);
  g_autofree double *d = g_new (double, m);

  for (gint64 i = 0; i < m; i++)
    d[i] = ts[i + 1] - ts[i];
  qsort (d, m, sizeof (double), compare_doubles);
  return d[m / 2];
}

/* Walks the timestamps, block by block. */
typedef struct
{
  const char *name;
  gboolean    allow_gaps;
  double      dt;            /* median interval */
  double      prev;          /* the timestamp before this block */
  gint64      seg_start;     /* first sample of the current stretch */
  double      seg_t0;        /* its time */
  double      span;          /* time covered by finished stretches */
  gint64      intervals;     /* their intervals */
  GArray     *sweeps;
} TsScan;

static gboolean
ts_end_stretch (TsScan  *scan,
                gint64   end,
                double   t_last,
                GError **error)
{
  gint64 n = end - scan->seg_start;
  ImpSweep sw = { scan->seg_start, n, scan->seg_t0 };

  if (n >= 2)
    {
      double mean = (t_last - scan->seg_t0) / (double) (n - 1);

      if (fabs (mean - scan->dt) > TS_DRIFT * scan->dt)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_UNSUPPORTED,
                       "%s/timestamps are irregular: from timestamp %"
                       G_GINT64_FORMAT " they are %.6g s apart on average, "
                       "but the usual interval is %.6g s; Imprint reads "
                       "regularly sampled data only", scan->name,
                       scan->seg_start, mean, scan->dt);
          return FALSE;
        }
      scan->span += t_last - scan->seg_t0;
      scan->intervals += n - 1;
    }
  g_array_append_val (scan->sweeps, sw);
  return TRUE;
}

static gboolean
ts_scan_block (TsScan        *scan,
               const double  *ts,
               gint64         first,
               gint64         n,
               GError       **error)
{
  for (gint64 k = 0; k < n; k++)
    {
      gint64 i = first + k;
      double d;

      if (!isfinite (ts[k]))
        {
          set_malformed (error, "%s/timestamps[%" G_GINT64_FORMAT "] is %g; "
                         "timestamps must be finite", scan->name, i, ts[k]);
          return FALSE;
        }
      if (i == 0)
        {
          scan->seg_t0 = ts[k];
          scan->prev = ts[k];
          continue;
        }
      d = ts[k] - scan->prev;
      if (!(d > 0.0))
        {
          set_malformed (error, "%s/timestamps do not increase: timestamp %"
                         G_GINT64_FORMAT " is %.9g s, after %.9g s",
                         scan->name, i, ts[k], scan->prev);
          return FALSE;
        }
      /* dt is 0 in the first pass, which finds the usual interval. */
      if (scan->dt > 0.0 && d < TS_SHORT * scan->dt)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_UNSUPPORTED,
                       "%s/timestamps are irregular: timestamps %"
                       G_GINT64_FORMAT " and %" G_GINT64_FORMAT " are %.6g s "
                       "apart, the usual interval %.6g s; Imprint reads "
                       "regularly sampled data only", scan->name, i - 1, i,
                       d, scan->dt);
          return FALSE;
        }
      else if (scan->dt > 0.0 && d > TS_GAP * scan->dt)
        {
          if (!scan->allow_gaps)
            {
              g_set_error (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNSUPPORTED,
                           "%s/timestamps have a gap of %.6g s before "
                           "timestamp %" G_GINT64_FORMAT "; Imprint cannot "
                           "split a patch-clamp series into sweeps",
                           scan->name, d, i);
              return FALSE;
            }
          if (scan->sweeps->len >= TS_MAX_GAPS)
            {
              g_set_error (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNSUPPORTED,
                           "%s/timestamps have more than %d gaps; they are "
                           "too irregular to read as sweeps", scan->name,
                           TS_MAX_GAPS);
              return FALSE;
            }
          if (!ts_end_stretch (scan, i, scan->prev, error))
            return FALSE;
          scan->seg_start = i;
          scan->seg_t0 = ts[k];
        }
      scan->prev = ts[k];
    }

  return TRUE;
}

/* Reads every timestamp: they must be finite and increasing. The rate
 * comes from the usual (median) interval; a gap longer than 1.5 of them
 * starts a new sweep, where @allow_gaps, and anything else irregular is
 * refused. */
static gboolean
timing_from_timestamps (hid_t         series,
                        const char   *name,
                        gint64        n_samples,
                        gboolean      allow_gaps,
                        Timing       *timing,
                        GError      **error)
{
  g_auto(ImpH5Id) ts = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_autofree double *buf = NULL;
  g_autofree char *what = g_strdup_printf ("%s/timestamps", name);
  TsScan scan = { 0 };
  hsize_t dims[1];

  _imp_probe_stage (what);
  ts = H5Dopen2 (series, "timestamps", H5P_DEFAULT);
  space = ts >= 0 ? H5Dget_space (ts) : H5I_INVALID_HID;
  if (space < 0 || H5Sget_simple_extent_ndims (space) != 1)
    {
      set_malformed (error, "%s is not one-dimensional", what);
      return FALSE;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  if ((gint64) dims[0] != n_samples)
    {
      set_malformed (error, "%s has %" G_GINT64_FORMAT " samples but %"
                     G_GUINT64_FORMAT " timestamps", name, n_samples,
                     (guint64) dims[0]);
      return FALSE;
    }
  if (n_samples < 2)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "%s has fewer than two timestamps, so its sampling rate "
                   "is unknown", name);
      return FALSE;
    }
  if (!_imp_h5_check_storage (ts, what, error))
    return FALSE;

  scan.name = name;
  scan.allow_gaps = allow_gaps;
  scan.sweeps = g_array_new (FALSE, FALSE, sizeof (ImpSweep));
  timing->sweeps = scan.sweeps;
  buf = g_new (double, MIN (n_samples, TS_BLOCK));
  for (gint64 at = 0; at < n_samples; at += TS_BLOCK)
    {
      g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
      hsize_t start = at;
      hsize_t count = MIN (TS_BLOCK, n_samples - at);

      H5Sselect_hyperslab (space, H5S_SELECT_SET, &start, NULL, &count, NULL);
      mspace = H5Screate_simple (1, &count, NULL);
      if (H5Dread (ts, H5T_NATIVE_DOUBLE, mspace, space, H5P_DEFAULT,
                   buf) < 0)
        {
          g_autofree char *msg = _imp_h5_error_text ();

          set_malformed (error, "cannot read %s: %s", what, msg);
          return FALSE;
        }
      if (at == 0)
        {
          /* The median is taken over timestamps already checked to be
           * finite and increasing, so it is a positive interval. */
          scan.dt = 0.0;
          if (!ts_scan_block (&scan, buf, 0,
                              MIN (count, TS_MEDIAN_SAMPLE + 1), error))
            return FALSE;
          scan.dt = median_interval (buf, count);
        }
      if (!ts_scan_block (&scan, buf, at, count, error))
        return FALSE;
    }
  if (!ts_end_stretch (&scan, n_samples, scan.prev, error))
    return FALSE;
  if (scan.intervals == 0 || !(scan.span > 0.0))
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "%s has no two timestamps in a row without a gap, so its "
                   "sampling rate is unknown", name);
      return FALSE;
    }
  timing->rate = (double) scan.intervals / scan.span;

  return TRUE;
}

/* A numeric attribute that must be a number when present. */
static gboolean
optional_number (hid_t         obj,
                 const char   *what,
                 const char   *name,
                 double        fallback,
                 double       *value,
                 GError      **error)
{
  switch (_imp_h5_attr_number (obj, name, value))
    {
    case IMP_H5_ATTR_ABSENT:
      *value = fallback;
      return TRUE;
    case IMP_H5_ATTR_OK:
      return TRUE;
    case IMP_H5_ATTR_NOT_NUMBER:
      set_malformed (error, "the %s attribute of %s is not a number; it "
                     "must be a number", name, what);
      return FALSE;
    case IMP_H5_ATTR_UNREADABLE:
    default:
      set_malformed (error, "the %s attribute of %s cannot be read", name,
                     what);
      return FALSE;
    }
}

/* The sampling rate and sweeps of a TimeSeries, from starting_time and
 * its rate attribute, or from timestamps. */
static gboolean
series_timing (hid_t         series,
               const char   *name,
               gint64        n_samples,
               gboolean      allow_gaps,
               Timing       *timing,
               GError      **error)
{
  g_autofree char *what = g_strdup_printf ("%s/starting_time", name);
  ImpSweep sw = { 0, n_samples, 0.0 };

  if (H5Lexists (series, "starting_time", H5P_DEFAULT) > 0)
    {
      g_auto(ImpH5Id) st = H5Dopen2 (series, "starting_time", H5P_DEFAULT);

      if (!read_scalar_double (series, "starting_time", &sw.start_s))
        {
          set_malformed (error, "%s is not a number", what);
          return FALSE;
        }
      switch (st >= 0 ? _imp_h5_attr_number (st, "rate", &timing->rate)
                      : IMP_H5_ATTR_ABSENT)
        {
        case IMP_H5_ATTR_OK:
          break;
        case IMP_H5_ATTR_NOT_NUMBER:
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_NO_RATE,
                       "the rate attribute of %s is not a number", what);
          return FALSE;
        case IMP_H5_ATTR_ABSENT:
        case IMP_H5_ATTR_UNREADABLE:
        default:
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_NO_RATE,
                       "%s has no rate attribute", what);
          return FALSE;
        }
      timing->sweeps = g_array_new (FALSE, FALSE, sizeof (ImpSweep));
      g_array_append_val (timing->sweeps, sw);
      return TRUE;
    }

  if (H5Lexists (series, "timestamps", H5P_DEFAULT) <= 0)
    {
      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_NO_RATE,
                   "%s has neither starting_time with a rate nor "
                   "timestamps, so its sampling rate is unknown", name);
      return FALSE;
    }
  return timing_from_timestamps (series, name, n_samples, allow_gaps,
                                 timing, error);
}

/* Conversion and offset attributes of a data dataset; resolution is not
 * used, but must be a number too. Physical = stored × conversion +
 * offset. */
static gboolean
data_scaling (hid_t         data,
              const char   *path,
              double       *conversion,
              double       *offset,
              GError      **error)
{
  g_autofree char *what = g_strdup_printf ("%s/data", path);
  double resolution;

  if (!optional_number (data, what, "conversion", 1.0, conversion, error)
      || !optional_number (data, what, "offset", 0.0, offset, error)
      || !optional_number (data, what, "resolution", -1.0, &resolution,
                           error))
    return FALSE;
  if (!isfinite (*conversion) || *conversion == 0.0 || !isfinite (*offset))
    {
      set_malformed (error, "%s has conversion %g and offset %g; both must "
                     "be finite and the conversion non-zero", what,
                     *conversion, *offset);
      return FALSE;
    }

  return TRUE;
}

/* The largest magnitude a stored value of @type can have; 0 for floats,
 * which have no fixed range. */
static double
type_raw_max (hid_t type)
{
  size_t size = H5Tget_size (type);

  if (H5Tget_class (type) != H5T_INTEGER || size == 0 || size > 8)
    return 0.0;
  if (H5Tget_sign (type) == H5T_SGN_NONE)
    return ldexp (1.0, 8 * (int) size) - 1.0;
  return ldexp (1.0, 8 * (int) size - 1);
}

/* Extracellular */

typedef struct
{
  char     *name;
  gint64    size;
} Candidate;

static char **
read_string_column (hid_t        table,
                    const char  *column,
                    hsize_t      n_rows)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;

  if (H5Lexists (table, column, H5P_DEFAULT) <= 0)
    return NULL;
  dset = H5Dopen2 (table, column, H5P_DEFAULT);
  if (dset < 0)
    return NULL;

  return _imp_h5_read_strings (dset, n_rows, NULL);
}

static double *
read_double_column (hid_t        table,
                    const char  *column,
                    hsize_t      n_rows)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_autofree double *values = NULL;
  gint64 len;

  if (H5Lexists (table, column, H5P_DEFAULT) <= 0)
    return NULL;
  dset = H5Dopen2 (table, column, H5P_DEFAULT);
  if (dset < 0)
    return NULL;
  len = _imp_h5_dataset_length (dset, column, NULL);
  if (len < 0 || (hsize_t) len != n_rows)
    return NULL;
  values = g_new (double, MAX (n_rows, 1));
  if (n_rows > 0 && H5Dread (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, values) < 0)
    return NULL;

  return g_steal_pointer (&values);
}

/* Labels and positions of the channels of an ElectricalSeries, from its
 * electrodes region. */
static gboolean
electrodes_metadata (ImpRecording  *rec,
                     hid_t          file,
                     hid_t          series,
                     const char    *name,
                     guint          n_channels,
                     GError       **error)
{
  g_auto(ImpH5Id) region = H5I_INVALID_HID;
  g_auto(ImpH5Id) table = H5I_INVALID_HID;
  g_auto(ImpH5Id) ids = H5I_INVALID_HID;
  g_autofree gint64 *rows = NULL;
  g_autofree gint64 *row_ids = NULL;
  g_auto(GStrv) labels = NULL;
  g_autofree double *x = NULL;
  g_autofree double *y = NULL;
  gint64 n_rows;
  gint64 len;

  if (H5Lexists (series, "electrodes", H5P_DEFAULT) <= 0)
    {
      _imp_recording_add_warning (rec, "The ElectricalSeries has no "
                                  "electrodes region; channels have no "
                                  "positions");
      return TRUE;
    }
  region = H5Dopen2 (series, "electrodes", H5P_DEFAULT);
  if (region < 0)
    {
      set_malformed (error, "%s/electrodes is not a dataset", name);
      return FALSE;
    }
  len = _imp_h5_dataset_length (region, "electrodes", NULL);
  if (len != n_channels)
    {
      set_malformed (error, "%s/electrodes lists %" G_GINT64_FORMAT
                     " electrodes but the data has %u channels",
                     name, len, n_channels);
      return FALSE;
    }
  rows = g_new (gint64, n_channels);
  if (H5Dread (region, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
               rows) < 0)
    {
      set_malformed (error, "%s/electrodes is not a list of row indices",
                     name);
      return FALSE;
    }

  /* The region names its table with an object reference; older writers
   * may leave it out, and the table has a fixed place anyway. */
  if (H5Aexists (region, "table") > 0)
    {
      g_auto(ImpH5Id) attr = H5Aopen (region, "table", H5P_DEFAULT);
      g_auto(ImpH5Id) type = H5Aget_type (attr);
      hobj_ref_t ref;

      if (H5Tget_class (type) == H5T_REFERENCE
          && H5Aread (attr, H5T_STD_REF_OBJ, &ref) >= 0)
        table = H5Rdereference2 (region, H5P_DEFAULT, H5R_OBJECT, &ref);
    }
  if (table < 0
      && H5Lexists (file, "general", H5P_DEFAULT) > 0
      && H5Lexists (file, "general/extracellular_ephys",
                    H5P_DEFAULT) > 0
      && H5Lexists (file, "general/extracellular_ephys/electrodes",
                    H5P_DEFAULT) > 0)
    table = H5Gopen2 (file, "general/extracellular_ephys/electrodes",
                      H5P_DEFAULT);
  if (table < 0)
    {
      set_malformed (error, "%s/electrodes points to no electrodes table",
                     name);
      return FALSE;
    }
  if (H5Lexists (table, "id", H5P_DEFAULT) <= 0
      || (ids = H5Dopen2 (table, "id", H5P_DEFAULT)) < 0
      || (n_rows = _imp_h5_dataset_length (ids, "id", NULL)) < 0)
    {
      set_malformed (error, "the electrodes table has no id column");
      return FALSE;
    }
  row_ids = g_new0 (gint64, MAX (n_rows, 1));
  if (n_rows > 0 && H5Dread (ids, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                             H5P_DEFAULT, row_ids) < 0)
    {
      set_malformed (error, "the electrodes table's id column is not "
                     "integers");
      return FALSE;
    }
  for (guint c = 0; c < n_channels; c++)
    {
      if (rows[c] < 0 || rows[c] >= n_rows)
        {
          set_malformed (error, "%s/electrodes refers to row %"
                         G_GINT64_FORMAT " but the electrodes table has %"
                         G_GINT64_FORMAT " rows", name, rows[c], n_rows);
          return FALSE;
        }
    }

  labels = read_string_column (table, "label", n_rows);
  if (labels == NULL)
    labels = read_string_column (table, "channel_name", n_rows);
  /* rel_x/rel_y are positions on the probe, which is what an array
   * overview shows; x/y are brain coordinates. Both are taken as µm. */
  x = read_double_column (table, "rel_x", n_rows);
  y = read_double_column (table, "rel_y", n_rows);
  if (x == NULL || y == NULL)
    {
      g_clear_pointer (&x, g_free);
      g_clear_pointer (&y, g_free);
      x = read_double_column (table, "x", n_rows);
      y = read_double_column (table, "y", n_rows);
    }

  for (guint c = 0; c < n_channels; c++)
    {
      ImpChannel *ch = &g_array_index (rec->channels, ImpChannel, c);

      g_free (ch->label);
      if (labels != NULL && labels[rows[c]][0] != '\0')
        ch->label = g_strdup (labels[rows[c]]);
      else
        ch->label = g_strdup_printf ("e%" G_GINT64_FORMAT, row_ids[rows[c]]);
      if (x != NULL && y != NULL)
        _imp_recording_set_position (rec, c, x[rows[c]], y[rows[c]]);
    }

  return TRUE;
}

static gboolean
nwb_read_electrical (ImpRecording  *self,
                     guint          first_channel,
                     guint          n_channels,
                     gint64         first_sample,
                     gint64         n_samples,
                     float         *out,
                     GError       **error)
{
  NwbData *nd = self->backend_data;
  g_auto(ImpH5Id) fspace = H5Dget_space (nd->data);
  g_autofree float *buf = NULL;
  gint64 block = MAX (1, (4 * 1024 * 1024) / n_channels);
  gint64 done = 0;

  block = MIN (block, n_samples);
  buf = g_new (float, (gsize) block * n_channels);
  while (done < n_samples)
    {
      g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
      gint64 take = MIN (block, n_samples - done);
      hsize_t start[2] = { first_sample + done, first_channel };
      hsize_t count[2] = { take, n_channels };

      H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL, count, NULL);
      mspace = H5Screate_simple (nd->rank, count, NULL);
      if (H5Dread (nd->data, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT,
                   buf) < 0)
        {
          g_autofree char *msg = _imp_h5_error_text ();

          g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                       "Cannot read samples %" G_GINT64_FORMAT " to %"
                       G_GINT64_FORMAT ": %s", first_sample + done,
                       first_sample + done + take - 1, msg);
          return FALSE;
        }
      for (guint c = 0; c < n_channels; c++)
        {
          const ImpChannel *ch = &g_array_index (self->channels, ImpChannel,
                                                 first_channel + c);
          float *dst = out + (gsize) c * n_samples + done;

          for (gint64 s = 0; s < take; s++)
            dst[s] = (float) (buf[(gsize) s * n_channels + c] * ch->gain
                              + ch->offset);
        }
      done += take;
    }

  return TRUE;
}

/* Intracellular */

static gboolean
nwb_read_patch (ImpRecording  *self,
                guint          first_channel,
                guint          n_channels,
                gint64         first_sample,
                gint64         n_samples,
                float         *out,
                GError       **error)
{
  NwbData *nd = self->backend_data;
  gint64 end = first_sample + n_samples;

  for (guint w = imp_recording_sweep_at (self, first_sample);
       w < nd->n_sweeps; w++)
    {
      const ImpSweep *sw = &g_array_index (self->sweeps, ImpSweep, w);
      gint64 from, to;

      if (sw->start_sample >= end)
        break;
      from = MAX (first_sample, sw->start_sample);
      to = MIN (end, sw->start_sample + sw->n_samples);

      for (guint c = 0; c < n_channels; c++)
        {
          const Piece *p = &nd->pieces[w * nd->n_channels + first_channel + c];
          float *dst = out + (gsize) c * n_samples + (from - first_sample);
          gint64 local = from - sw->start_sample;
          gint64 have = p->data >= 0 ? MAX (0, MIN (to - from,
                                                    p->n_samples - local))
                                     : 0;

          if (have > 0)
            {
              g_auto(ImpH5Id) fspace = H5Dget_space (p->data);
              g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
              int rank = H5Sget_simple_extent_ndims (fspace);
              hsize_t start[2] = { local, 0 };
              hsize_t count[2] = { have, 1 };
              hsize_t mcount = have;

              H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL,
                                   count, NULL);
              mspace = H5Screate_simple (1, &mcount, NULL);
              if (rank < 1 || rank > 2
                  || H5Dread (p->data, H5T_NATIVE_FLOAT, mspace, fspace,
                              H5P_DEFAULT, dst) < 0)
                {
                  g_autofree char *msg = _imp_h5_error_text ();

                  g_set_error (error, IMP_RECORDING_ERROR,
                               IMP_RECORDING_ERROR_IO,
                               "Cannot read sweep %u of channel %u: %s",
                               w, first_channel + c, msg);
                  return FALSE;
                }
              for (gint64 s = 0; s < have; s++)
                dst[s] = (float) (dst[s] * p->gain + p->offset);
            }
          /* A channel with no series in this sweep, or a shorter one. */
          for (gint64 s = have; s < to - from; s++)
            dst[s] = NAN;
        }
    }

  return TRUE;
}

static gboolean
nwb_read (ImpRecording  *self,
          guint          first_channel,
          guint          n_channels,
          gint64         first_sample,
          gint64         n_samples,
          float         *out,
          GError       **error)
{
  NwbData *nd = self->backend_data;
  gboolean ok;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      if (nd->pieces != NULL)
        ok = nwb_read_patch (self, first_channel, n_channels,
                             first_sample, n_samples, out, error);
      else
        ok = nwb_read_electrical (self, first_channel, n_channels,
                                  first_sample, n_samples, out, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return ok;
}

static const ImpRecordingBackend nwb_backend = {
  .format = "NWB 2",
  .read = nwb_read,
  .close = nwb_data_free,
};

/* Where a series' electrode link leads: the object's address identifies
 * it, the link target's last part names it. */
static gboolean
series_electrode (hid_t         series,
                  const char   *name,
                  haddr_t      *addr,
                  char        **label)
{
  g_auto(ImpH5Id) obj = H5I_INVALID_HID;
  H5L_info_t linfo;
  H5O_info_t oinfo;

  if (H5Lexists (series, "electrode", H5P_DEFAULT) <= 0)
    return FALSE;
  obj = H5Oopen (series, "electrode", H5P_DEFAULT);
  if (obj < 0 || H5Oget_info2 (obj, &oinfo, H5O_INFO_BASIC) < 0)
    return FALSE;
  *addr = oinfo.addr;

  if (H5Lget_info (series, "electrode", &linfo, H5P_DEFAULT) >= 0
      && linfo.type == H5L_TYPE_SOFT && linfo.u.val_size > 0)
    {
      g_autofree char *target = g_malloc0 (linfo.u.val_size + 1);

      if (H5Lget_val (series, "electrode", target, linfo.u.val_size,
                      H5P_DEFAULT) >= 0)
        {
          const char *slash = strrchr (target, '/');

          *label = g_strdup (slash != NULL ? slash + 1 : target);
          return TRUE;
        }
    }
  {
    ssize_t len = H5Iget_name (obj, NULL, 0);
    g_autofree char *path = g_malloc0 (MAX (len, 0) + 1);
    const char *slash;

    if (len > 0)
      H5Iget_name (obj, path, len + 1);
    slash = strrchr (path, '/');
    *label = g_strdup (slash != NULL ? slash + 1 : path);
  }
  return TRUE;
}

static gboolean
load_patch_series (hid_t         acq,
                   const char   *name,
                   PatchSeries  *ps,
                   GError      **error)
{
  g_auto(ImpH5Id) series = H5I_INVALID_HID;
  g_auto(ImpH5Id) data = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_autofree char *path = g_strdup_printf ("/acquisition/%s", name);
  g_autofree char *data_path = g_strdup_printf ("%s/data", path);
  g_auto(Timing) timing = { 0 };
  hsize_t dims[2];
  int rank;
  H5T_class_t cls;
  double number;
  const char *canonical = NULL;
  double factor;

  memset (ps, 0, sizeof *ps);
  ps->data = H5I_INVALID_HID;
  ps->name = g_strdup (name);

  _imp_probe_stage (path);
  series = H5Gopen2 (acq, name, H5P_DEFAULT);
  if (series < 0 || H5Lexists (series, "data", H5P_DEFAULT) <= 0
      || (data = H5Dopen2 (series, "data", H5P_DEFAULT)) < 0)
    {
      set_malformed (error, "%s has no data", path);
      return FALSE;
    }
  space = H5Dget_space (data);
  type = H5Dget_type (data);
  cls = H5Tget_class (type);
  rank = H5Sget_simple_extent_ndims (space);
  if (rank < 1 || rank > 2 || (cls != H5T_FLOAT && cls != H5T_INTEGER))
    {
      set_malformed (error, "%s/data must be a one-dimensional list of "
                     "numbers", path);
      return FALSE;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  if (rank == 2 && dims[1] != 1)
    {
      set_malformed (error, "%s/data has %" G_GUINT64_FORMAT " columns; a "
                     "patch-clamp series has one", path, (guint64) dims[1]);
      return FALSE;
    }
  ps->n_samples = dims[0];
  ps->raw_max = type_raw_max (type);
  if (!_imp_h5_check_storage (data, data_path, error))
    return FALSE;
  if (!series_timing (series, path, ps->n_samples, FALSE, &timing, error))
    return FALSE;
  ps->rate = timing.rate;
  ps->start_s = g_array_index (timing.sweeps, ImpSweep, 0).start_s;
  if (_imp_h5_attr_double (series, "sweep_number", &number) && number >= 0)
    {
      ps->has_sweep_number = TRUE;
      ps->sweep_number = (guint64) number;
    }
  if (!series_electrode (series, name, &ps->electrode, &ps->electrode_name))
    {
      ps->electrode = HADDR_UNDEF;
      ps->electrode_name = g_strdup ("electrode");
    }
  ps->unit = _imp_h5_attr_string (data, "unit");
  if (ps->unit == NULL)
    {
      /* The schema fixes the unit of these series anyway. */
      g_autofree char *type_name = _imp_h5_attr_string (series,
                                                        "neurodata_type");

      ps->unit = g_strdup (g_strcmp0 (type_name, "VoltageClampSeries") == 0
                           ? "amperes" : "volts");
    }
  if (!data_scaling (data, path, &ps->conversion, &ps->offset, error))
    return FALSE;
  /* Series of one channel may differ in scale: each is checked. */
  factor = _imp_unit_normalise (ps->unit, &canonical);
  if (!_imp_recording_check_scale (data_path, canonical,
                                   ps->conversion * factor,
                                   ps->offset * factor, ps->raw_max, error))
    return FALSE;
  ps->data = _imp_h5_steal (&data);

  return TRUE;
}

static int
compare_series (gconstpointer a,
                gconstpointer b)
{
  const PatchSeries *pa = a;
  const PatchSeries *pb = b;

  if (pa->has_sweep_number && pb->has_sweep_number
      && pa->sweep_number != pb->sweep_number)
    return pa->sweep_number < pb->sweep_number ? -1 : 1;
  if (pa->start_s != pb->start_s)
    return pa->start_s < pb->start_s ? -1 : 1;
  return natural_compare (pa->name, pb->name);
}

static gboolean
same_sweep (const PatchSeries *a,
            const PatchSeries *b)
{
  if (a->has_sweep_number && b->has_sweep_number)
    return a->sweep_number == b->sweep_number;
  return fabs (a->start_s - b->start_s) < 0.5 / a->rate;
}

static gboolean
open_patch (ImpRecording  *rec,
            NwbData       *nd,
            hid_t          acq,
            GPtrArray     *names,
            GError       **error)
{
  g_autoptr(GArray) series = NULL;
  g_autoptr(GPtrArray) channels = g_ptr_array_new (); /* PatchSeries * */
  g_autoptr(GArray) sweep_first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
  g_autoptr(GString) skipped = g_string_new (NULL);
  gboolean all_numbered = TRUE;
  gboolean padded = FALSE;
  guint n_ch;

  series = g_array_new (FALSE, TRUE, sizeof (PatchSeries));
  g_array_set_clear_func (series, patch_series_clear);
  for (guint i = 0; i < names->len; i++)
    {
      PatchSeries ps;

      if (!load_patch_series (acq, names->pdata[i], &ps, error))
        {
          patch_series_clear (&ps);
          return FALSE;
        }
      if (ps.n_samples == 0)
        {
          g_string_append_printf (skipped, "%s%s", skipped->len ? ", " : "",
                                  ps.name);
          patch_series_clear (&ps);
          continue;
        }
      g_array_append_val (series, ps);
    }
  if (skipped->len > 0)
    {
      g_autofree char *msg = g_strdup_printf ("Empty series skipped: %s",
                                              skipped->str);

      _imp_recording_add_warning (rec, msg);
    }
  if (series->len == 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_MALFORMED,
                           "every patch-clamp series in /acquisition is "
                           "empty");
      return FALSE;
    }

  /* One rate for the whole recording. */
  for (guint i = 0; i < series->len; i++)
    {
      PatchSeries *ps = &g_array_index (series, PatchSeries, i);
      PatchSeries *first = &g_array_index (series, PatchSeries, 0);

      if (fabs (ps->rate - first->rate) > 1e-6 * first->rate)
        {
          g_set_error (error, IMP_RECORDING_ERROR,
                       IMP_RECORDING_ERROR_UNSUPPORTED,
                       "%s is sampled at %g Hz but %s at %g Hz; Imprint "
                       "reads recordings with one sampling rate",
                       ps->name, ps->rate, first->name, first->rate);
          return FALSE;
        }
      all_numbered = all_numbered && ps->has_sweep_number;
    }
  rec->sample_rate = g_array_index (series, PatchSeries, 0).rate;

  /* Channels: one per electrode and unit, in the order the file lists
   * them. */
  for (guint i = 0; i < series->len; i++)
    {
      PatchSeries *ps = &g_array_index (series, PatchSeries, i);
      const char *canon_ps = NULL;
      guint c;

      _imp_unit_normalise (ps->unit, &canon_ps);
      for (c = 0; c < channels->len; c++)
        {
          PatchSeries *other = channels->pdata[c];
          const char *canon_other = NULL;

          _imp_unit_normalise (other->unit, &canon_other);
          if (other->electrode == ps->electrode
              && g_strcmp0 (canon_other, canon_ps) == 0)
            break;
        }
      if (c == channels->len)
        g_ptr_array_add (channels, ps);
      ps->channel = c;
    }
  n_ch = channels->len;

  /* Sweeps: series sorted by sweep number (or start time), those of the
   * same sweep side by side. */
  if (!all_numbered)
    for (guint i = 0; i < series->len; i++)
      g_array_index (series, PatchSeries, i).has_sweep_number = FALSE;
  {
    /* Sorting moves the structs, so remember channel order first. */
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GPtrArray) units = g_ptr_array_new_with_free_func (g_free);
    g_autofree double *gains = g_new (double, n_ch);
    g_autofree double *offsets = g_new (double, n_ch);
    g_autofree double *raw_max = g_new (double, n_ch);

    for (guint c = 0; c < n_ch; c++)
      {
        PatchSeries *ps = channels->pdata[c];

        g_ptr_array_add (labels, g_strdup (ps->electrode_name));
        g_ptr_array_add (units, g_strdup (ps->unit));
        gains[c] = ps->conversion;
        offsets[c] = ps->offset;
        raw_max[c] = ps->raw_max;
      }
    g_ptr_array_set_size (channels, 0);
    g_array_sort (series, compare_series);

    for (guint c = 0; c < n_ch; c++)
      {
        _imp_recording_add_channel (rec, labels->pdata[c], units->pdata[c],
                                    gains[c], offsets[c]);
        _imp_recording_set_raw_max (rec, c, raw_max[c]);
      }
  }

  for (guint i = 0; i < series->len; i++)
    {
      PatchSeries *ps = &g_array_index (series, PatchSeries, i);
      guint w = sweep_first->len;
      Piece *piece;
      const char *canon = NULL;
      double factor;

      /* Join the current sweep if it is the same sweep and this channel's
       * place in it is free; otherwise start a new one. */
      if (w > 0)
        {
          guint first = g_array_index (sweep_first, guint, w - 1);
          PatchSeries *head = &g_array_index (series, PatchSeries, first);
          Piece *slot = &g_array_index (pieces, Piece,
                                        (w - 1) * n_ch + ps->channel);

          if (same_sweep (head, ps) && slot->data < 0)
            w--;
        }
      if (w == sweep_first->len)
        {
          g_array_append_val (sweep_first, i);
          g_array_set_size (pieces, (w + 1) * n_ch);
          for (guint c = 0; c < n_ch; c++)
            g_array_index (pieces, Piece, w * n_ch + c).data = -1;
        }
      piece = &g_array_index (pieces, Piece, w * n_ch + ps->channel);
      factor = _imp_unit_normalise (ps->unit, &canon);
      piece->data = ps->data;
      piece->n_samples = ps->n_samples;
      piece->gain = ps->conversion * factor;
      piece->offset = ps->offset * factor;
    }

  for (guint w = 0; w < sweep_first->len; w++)
    {
      guint first = g_array_index (sweep_first, guint, w);
      gint64 len = 0;
      gint64 shortest = G_MAXINT64;

      for (guint c = 0; c < n_ch; c++)
        {
          const Piece *p = &g_array_index (pieces, Piece, w * n_ch + c);

          if (p->data < 0)
            {
              padded = TRUE;
              continue;
            }
          len = MAX (len, p->n_samples);
          shortest = MIN (shortest, p->n_samples);
        }
      if (shortest != len)
        padded = TRUE;
      _imp_recording_add_sweep (rec, len,
                                g_array_index (series, PatchSeries,
                                               first).start_s);
    }
  if (padded)
    _imp_recording_add_warning (rec, "Some channels have no series, or a "
                                "shorter one, in some sweeps; the missing "
                                "samples read as NaN");

  nd->n_channels = n_ch;
  nd->n_sweeps = sweep_first->len;
  nd->pieces = (Piece *) g_array_free (g_steal_pointer (&pieces), FALSE);
  nd->series = g_steal_pointer (&series);

  return TRUE;
}

static gboolean
open_electrical (ImpRecording  *rec,
                 NwbData       *nd,
                 hid_t          file,
                 hid_t          acq,
                 GPtrArray     *names,
                 GError       **error)
{
  g_auto(ImpH5Id) series = H5I_INVALID_HID;
  g_auto(ImpH5Id) data = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_autofree char *path = NULL;
  g_autofree char *data_path = NULL;
  g_autofree char *unit = NULL;
  g_autofree double *channel_conversion = NULL;
  g_auto(Timing) timing = { 0 };
  const char *name = NULL;
  hsize_t dims[2] = { 0, 1 };
  gint64 best = -1;
  double conversion, offset;
  H5T_class_t cls;
  int rank;

  /* The largest series: the raw band when a file also holds LFP. */
  for (guint i = 0; i < names->len; i++)
    {
      g_auto(ImpH5Id) s = H5Gopen2 (acq, names->pdata[i], H5P_DEFAULT);
      g_auto(ImpH5Id) d = H5I_INVALID_HID;
      g_auto(ImpH5Id) sp = H5I_INVALID_HID;
      hsize_t d2[2] = { 0, 1 };
      gint64 size;

      if (s < 0 || H5Lexists (s, "data", H5P_DEFAULT) <= 0
          || (d = H5Dopen2 (s, "data", H5P_DEFAULT)) < 0)
        continue;
      sp = H5Dget_space (d);
      if (H5Sget_simple_extent_ndims (sp) < 1
          || H5Sget_simple_extent_ndims (sp) > 2)
        continue;
      H5Sget_simple_extent_dims (sp, d2, NULL);
      size = (gint64) (d2[0] * (H5Sget_simple_extent_ndims (sp) == 2
                                ? d2[1] : 1));
      if (size > best)
        {
          best = size;
          name = names->pdata[i];
        }
    }
  if (name == NULL)
    name = names->pdata[0];
  if (names->len > 1)
    {
      g_autoptr(GString) msg = g_string_new ("Only ");

      g_string_append_printf (msg, "%s is read; other ElectricalSeries "
                              "ignored:", name);
      for (guint i = 0; i < names->len; i++)
        if (!g_str_equal (names->pdata[i], name))
          g_string_append_printf (msg, " %s", (char *) names->pdata[i]);
      _imp_recording_add_warning (rec, msg->str);
    }

  path = g_strdup_printf ("/acquisition/%s", name);
  series = H5Gopen2 (acq, name, H5P_DEFAULT);
  if (series < 0 || H5Lexists (series, "data", H5P_DEFAULT) <= 0
      || (data = H5Dopen2 (series, "data", H5P_DEFAULT)) < 0)
    {
      set_malformed (error, "%s has no data", path);
      return FALSE;
    }
  space = H5Dget_space (data);
  type = H5Dget_type (data);
  cls = H5Tget_class (type);
  rank = H5Sget_simple_extent_ndims (space);
  if (rank < 1 || rank > 2 || (cls != H5T_FLOAT && cls != H5T_INTEGER))
    {
      set_malformed (error, "%s/data must be a [time, channels] array of "
                     "numbers", path);
      return FALSE;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  if (rank == 1)
    dims[1] = 1;
  if (dims[1] == 0 || dims[1] > IMP_RECORDING_MAX_CHANNELS)
    {
      set_malformed (error, "%s/data has %" G_GUINT64_FORMAT " channels",
                     path, (guint64) dims[1]);
      return FALSE;
    }
  data_path = g_strdup_printf ("%s/data", path);
  _imp_probe_stage (data_path);
  if (!_imp_h5_check_storage (data, data_path, error))
    return FALSE;
  if (!series_timing (series, path, dims[0], TRUE, &timing, error))
    return FALSE;
  rec->sample_rate = timing.rate;

  unit = _imp_h5_attr_string (data, "unit");
  if (unit == NULL)
    {
      unit = g_strdup ("volts");
      _imp_recording_add_warning (rec, "The ElectricalSeries has no unit; "
                                  "taken as volts");
    }
  if (!data_scaling (data, path, &conversion, &offset, error))
    return FALSE;
  if (H5Lexists (series, "channel_conversion", H5P_DEFAULT) > 0)
    {
      g_auto(ImpH5Id) cc = H5Dopen2 (series, "channel_conversion",
                                     H5P_DEFAULT);
      gint64 len = cc >= 0
        ? _imp_h5_dataset_length (cc, "channel_conversion", NULL) : -1;

      if (len != (gint64) dims[1])
        {
          set_malformed (error, "%s/channel_conversion has %"
                         G_GINT64_FORMAT " entries but the data has %"
                         G_GUINT64_FORMAT " channels", path, len,
                         (guint64) dims[1]);
          return FALSE;
        }
      channel_conversion = g_new (double, dims[1]);
      if (H5Dread (cc, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   channel_conversion) < 0)
        {
          set_malformed (error, "%s/channel_conversion is not numbers",
                         path);
          return FALSE;
        }
    }

  for (guint c = 0; c < dims[1]; c++)
    {
      double gain = conversion
                    * (channel_conversion != NULL ? channel_conversion[c]
                                                  : 1.0);

      _imp_recording_add_channel (rec, NULL, unit, gain, offset);
      _imp_recording_set_raw_max (rec, c, type_raw_max (type));
      _imp_recording_set_access (rec, c, IMP_ACCESS_UNKNOWN);
    }
  _imp_probe_stage ("its electrodes table");
  if (!electrodes_metadata (rec, file, series, path, dims[1], error))
    return FALSE;
  for (guint i = 0; i < timing.sweeps->len; i++)
    {
      const ImpSweep *sw = &g_array_index (timing.sweeps, ImpSweep, i);

      _imp_recording_add_sweep (rec, sw->n_samples, sw->start_s);
    }
  if (timing.sweeps->len > 1)
    {
      g_autofree char *msg = g_strdup_printf (
        "The timestamps of %s have %u %s; read as %u sweeps at %g Hz",
        path, timing.sweeps->len - 1,
        timing.sweeps->len == 2 ? "gap" : "gaps", timing.sweeps->len,
        timing.rate);

      _imp_recording_add_warning (rec, msg);
    }

  nd->data = _imp_h5_steal (&data);
  nd->rank = rank;

  return TRUE;
}

static herr_t
collect_series_cb (hid_t             group,
                   const char       *name,
                   const H5L_info_t *info,
                   void             *user_data)
{
  GPtrArray **lists = user_data;
  g_auto(ImpH5Id) obj = H5I_INVALID_HID;
  g_autofree char *type = NULL;
  H5O_info_t oinfo;

  if (H5Oget_info_by_name2 (group, name, &oinfo, H5O_INFO_BASIC,
                            H5P_DEFAULT) < 0
      || oinfo.type != H5O_TYPE_GROUP)
    return 0;
  obj = H5Gopen2 (group, name, H5P_DEFAULT);
  if (obj < 0)
    return 0;
  type = _imp_h5_attr_string (obj, "neurodata_type");
  switch (series_kind (type))
    {
    case KIND_ELECTRICAL:
      g_ptr_array_add (lists[0], g_strdup (name));
      break;
    case KIND_PATCH:
      g_ptr_array_add (lists[1], g_strdup (name));
      break;
    case KIND_NONE:
    default:
      break;
    }
  return 0;
}

static void
copy_root_text (ImpRecording *rec,
                hid_t         file,
                const char   *name)
{
  g_auto(ImpH5Id) dset = H5I_INVALID_HID;
  g_auto(GStrv) values = NULL;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;

  if (H5Lexists (file, name, H5P_DEFAULT) <= 0
      || (dset = H5Dopen2 (file, name, H5P_DEFAULT)) < 0)
    return;
  type = H5Dget_type (dset);
  space = H5Dget_space (dset);
  if (H5Tget_class (type) != H5T_STRING
      || H5Sget_simple_extent_npoints (space) != 1)
    return;
  {
    g_auto(ImpH5Id) mtype = H5Tcopy (H5T_C_S1);

    if (H5Tis_variable_str (type) > 0)
      {
        char *buf[1] = { NULL };

        H5Tset_size (mtype, H5T_VARIABLE);
        if (H5Dread (dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
          {
            _imp_recording_set_attribute (rec, name, buf[0]);
            H5Dvlen_reclaim (mtype, space, H5P_DEFAULT, buf);
          }
      }
    else
      {
        size_t size = H5Tget_size (type);
        g_autofree char *buf = g_malloc0 (size + 1);

        H5Tset_size (mtype, size);
        if (H5Dread (dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
          _imp_recording_set_attribute (rec, name, buf);
      }
  }
}

static ImpRecording *
nwb_open_inner (const char  *path,
                GError     **error)
{
  g_auto(ImpH5Id) file = H5I_INVALID_HID;
  g_auto(ImpH5Id) acq = H5I_INVALID_HID;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GPtrArray) electrical = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) patch = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *version = NULL;
  g_autofree char *format = NULL;
  GPtrArray *lists[2] = { electrical, patch };
  NwbData *nd;
  hsize_t idx = 0;

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
  version = _imp_h5_attr_string (file, "nwb_version");
  if (version == NULL)
    {
      _imp_h5_attr_unreadable (file, "nwb_version", error);
      return NULL;
    }
  if (version[0] != '2')
    {
      g_set_error (error, IMP_RECORDING_ERROR,
                   IMP_RECORDING_ERROR_UNSUPPORTED,
                   "it is an NWB %s file; Imprint reads NWB 2", version);
      return NULL;
    }
  if (H5Lexists (file, "acquisition", H5P_DEFAULT) <= 0
      || (acq = H5Gopen2 (file, "acquisition", H5P_DEFAULT)) < 0)
    {
      set_malformed (error, "the NWB file has no /acquisition group");
      return NULL;
    }
  _imp_probe_stage ("its list of series in /acquisition");
  H5Literate (acq, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_series_cb,
              lists);
  g_ptr_array_sort (electrical, compare_names);
  g_ptr_array_sort (patch, compare_names);
  if (electrical->len == 0 && patch->len == 0)
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_UNSUPPORTED,
                           "the NWB file has no ElectricalSeries or "
                           "patch-clamp series (CurrentClampSeries, "
                           "VoltageClampSeries) in /acquisition");
      return NULL;
    }

  nd = g_new0 (NwbData, 1);
  nd->file = H5I_INVALID_HID;
  nd->data = H5I_INVALID_HID;
  rec = _imp_recording_new (path, &nwb_backend, nd);
  format = g_strdup_printf ("NWB %s", version);
  _imp_recording_set_format (rec, format);
  _imp_recording_set_attribute (rec, "nwb_version", version);
  copy_root_text (rec, file, "session_description");
  copy_root_text (rec, file, "identifier");
  copy_root_text (rec, file, "session_start_time");

  if (electrical->len > 0)
    {
      if (patch->len > 0)
        _imp_recording_add_warning (rec, "The file also holds patch-clamp "
                                    "series; only the ElectricalSeries is "
                                    "read");
      if (!open_electrical (rec, nd, file, acq, electrical, error))
        return NULL;
    }
  else if (!open_patch (rec, nd, acq, patch, error))
    {
      return NULL;
    }

  nd->file = _imp_h5_steal (&file);

  return g_steal_pointer (&rec);
}

ImpRecording *
_imp_nwb_open (const char  *path,
               GError     **error)
{
  ImpRecording *rec;

  if (!_imp_h5_is_hdf5 (path))
    return NULL;

  _imp_h5_lock ();
  H5E_BEGIN_TRY
    {
      rec = nwb_open_inner (path, error);
    }
  H5E_END_TRY;
  _imp_h5_unlock ();

  return rec;
}
