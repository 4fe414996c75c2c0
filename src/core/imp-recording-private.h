/* imp-recording-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <hdf5.h>

#include "imp-recording.h"

G_BEGIN_DECLS

/* How a back end stores its samples, for reading them raw in storage order
 * (imp-stream.c): int16 chunks of @rows samples × @cols channels, time-major
 * inside a chunk, each passed through @filters (in the order they were
 * applied when writing; a chunk's filter mask says which were skipped),
 * in the other byte order than this machine's when @swap_bytes. */
typedef enum
{
  IMP_CHUNK_FILTER_SHUFFLE,
  IMP_CHUNK_FILTER_DEFLATE,
} ImpChunkFilter;

#define IMP_CHUNK_MAX_FILTERS 4

typedef struct
{
  gint64          rows;
  guint           cols;
  guint           n_filters;
  ImpChunkFilter  filters[IMP_CHUNK_MAX_FILTERS];
  gboolean        swap_bytes;
} ImpChunkLayout;

/* What a back end provides. read() gets a channel range and a sample range
 * already checked against the recording's size and must write
 * n_channels * n_samples floats, channel-major (out[c * n_samples + s]),
 * in the channel's physical unit. It is called with the recording's lock
 * held, so it need not be thread-safe itself. */
typedef struct
{
  const char *format;
  gboolean  (*read)  (ImpRecording *self,
                      guint         first_channel,
                      guint         n_channels,
                      gint64        first_sample,
                      gint64        n_samples,
                      float        *out,
                      GError      **error);
  void      (*close) (gpointer      backend_data);
  /* Optional, for back ends whose samples are int16 chunks that can be
   * read raw: the layout (FALSE when the file's chunks are not such), and
   * one chunk's stored bytes (an empty @raw for a chunk never written),
   * called with the recording's lock held like read(). */
  gboolean  (*chunk_layout) (ImpRecording   *self,
                             ImpChunkLayout *layout);
  gboolean  (*read_chunk)    (ImpRecording   *self,
                              gint64          row,
                              guint           col,
                              GByteArray     *raw,
                              guint32        *filter_mask,
                              GError        **error);
  /* Optional: @n_blocks blocks of @width samples, @stride apart, from
   * @first_sample, checked like read()'s; out[c * n_blocks * width +
   * b * width + s]. Without it, imp_recording_read_strided() reads block
   * by block. */
  gboolean  (*read_strided) (ImpRecording *self,
                             guint         first_channel,
                             guint         n_channels,
                             gint64        first_sample,
                             gint64        stride,
                             gint64        width,
                             gint64        n_blocks,
                             float        *out,
                             GError      **error);
} ImpRecordingBackend;

struct _ImpRecording
{
  gatomicrefcount             ref_count;
  GMutex                      lock;
  char                       *path;
  const ImpRecordingBackend  *backend;
  gpointer                    backend_data;
  double                      sample_rate;
  gint64                      n_samples;
  GArray                     *channels;   /* of ImpChannel */
  GArray                     *sweeps;     /* of ImpSweep */
  char                       *warning;    /* repairs made while opening, or NULL */
  char                       *format;     /* overrides backend->format */
  GHashTable                 *attributes; /* free-form strings from the file */
  GArray                     *raw_max;    /* of double, per channel: largest
                                           * |stored value|, 0 if unknown */
  GArray                     *bad_positions; /* of guint: positions dropped */
  int                         fd;         /* the file as opened, or -1 */
  gint64                      file_size;  /* its size and modification time */
  gint64                      file_mtime; /* then, in µs */
};

/* Limits beyond which a header is taken to be corrupt, not a recording. */
#define IMP_RECORDING_MAX_RATE_HZ   1.0e7
#define IMP_RECORDING_MAX_CHANNELS  65536
#define IMP_RECORDING_MAX_SAMPLES   G_GINT64_CONSTANT (1000000000000)
#define IMP_RECORDING_MIN_RATE_HZ   1.0
/* Largest plausible value in mV or pA, and electrode coordinate in µm. */
#define IMP_RECORDING_MAX_PHYSICAL  1.0e6
#define IMP_RECORDING_MAX_POSITION  1.0e7

ImpRecording *_imp_recording_new          (const char                *path,
                                           const ImpRecordingBackend *backend,
                                           gpointer                   backend_data);
/* Adds a channel. @unit is normalised with _imp_unit_normalise(): the
 * stored unit is the canonical one and @gain and @offset are scaled to it,
 * so a back end passes the file's own unit, gain and offset and reads
 * with the stored (normalised) ones. */
void          _imp_recording_add_channel  (ImpRecording              *self,
                                           const char                *label,
                                           const char                *unit,
                                           double                     gain,
                                           double                     offset);
/* Sets an electrode position. NaN means unknown; a position that is
 * infinite or further than IMP_RECORDING_MAX_POSITION is dropped, and
 * validation says so. */
void          _imp_recording_set_position (ImpRecording              *self,
                                           guint                      index,
                                           double                     x_um,
                                           double                     y_um);
/* The largest magnitude a channel's stored values can have (32768 for
 * int16); validation refuses a gain and offset that would make values
 * beyond IMP_RECORDING_MAX_PHYSICAL of them. */
void          _imp_recording_set_raw_max  (ImpRecording              *self,
                                           guint                      index,
                                           double                     raw_max);
void          _imp_recording_set_access   (ImpRecording              *self,
                                           guint                      index,
                                           ImpAccess                  access);
/* Appends a sweep after the last one; n_samples of the recording grows
 * by @n_samples. */
void          _imp_recording_add_sweep    (ImpRecording              *self,
                                           gint64                     n_samples,
                                           double                     start_s);
void          _imp_recording_add_warning  (ImpRecording              *self,
                                           const char                *text);
void          _imp_recording_set_format   (ImpRecording              *self,
                                           const char                *format);
void          _imp_recording_set_attribute (ImpRecording             *self,
                                            const char               *key,
                                            const char               *value);
gboolean      _imp_recording_check_scale  (const char                *what,
                                           const char                *unit,
                                           double                     gain,
                                           double                     offset,
                                           double                     raw_max,
                                           GError                   **error);
/* Refuses a recording whose rate is missing, zero, not finite or absurd,
 * that has no channels or samples, non-finite gains, scales that make
 * absurd values, or sweeps that do not tile the sample range. Adds one
 * sweep when the back end added none, makes labels and units valid UTF-8,
 * and warns about odd units and sweep times. */
gboolean      _imp_recording_validate     (ImpRecording              *self,
                                           GError                   **error);

/* The stored layout of the samples, when the back end can read them raw
 * chunk by chunk; FALSE otherwise. */
gboolean      _imp_recording_chunk_layout (ImpRecording              *self,
                                           ImpChunkLayout            *layout);
/* Reads the stored bytes of chunk (@row, @col) into @raw, as
 * imp_recording_read() reads samples: under the recording's lock, and
 * failing when the file changed on disk since it was opened. */
gboolean      _imp_recording_read_chunk   (ImpRecording              *self,
                                           gint64                     row,
                                           guint                      col,
                                           GByteArray                *raw,
                                           guint32                   *filter_mask,
                                           GError                   **error);

/* Text from a file that may be in a legacy 8-bit encoding: kept if it is
 * UTF-8, otherwise read as Windows-1252 (a superset of Latin-1, and what
 * Windows acquisition programs write). @len may be -1 (NUL-terminated). */
char         *_imp_text_from_legacy       (const char                *bytes,
                                           gssize                     len);

/* Unit normalisation: returns the factor that turns @unit into the
 * canonical unit (V -> mV, A -> pA, ...) and stores the canonical name.
 * Units it does not know pass through: factor 1 and *canonical = @unit. */
double        _imp_unit_normalise         (const char                *unit,
                                           const char               **canonical);

/* Back ends; each returns NULL with error set, or NULL without error when
 * the file is not theirs (so the next may try). */
ImpRecording *_imp_native_open            (const char                *path,
                                           GError                   **error);
ImpRecording *_imp_nwb_open               (const char                *path,
                                           GError                   **error);
ImpRecording *_imp_biosig_open            (const char                *path,
                                           GError                   **error);

/* Trial runs in a child process (imp-probe.c). */

typedef gboolean (*ImpProbeFunc) (gpointer   data,
                                  GError   **error);

typedef enum
{
  IMP_PROBE_OK,          /* the function returned TRUE */
  IMP_PROBE_DECLINED,    /* it returned FALSE without an error */
  IMP_PROBE_FAILED,      /* it returned an error: code and message */
  IMP_PROBE_CRASHED,     /* the child died: signal (0 if unknown) */
  IMP_PROBE_TIMEOUT,     /* it took too long and was killed */
  IMP_PROBE_EXITED,      /* something in it called exit() */
  IMP_PROBE_UNAVAILABLE, /* no child could be started */
} ImpProbeOutcome;

typedef struct
{
  ImpProbeOutcome  outcome;
  int              signal;
  int              code;
  char            *message;
  char            *stage;   /* what it was reading last, or NULL */
} ImpProbeReport;

/* Memory a probe child may take beyond what the process already uses. */
#define IMP_PROBE_MEMORY_BYTES  (G_GUINT64_CONSTANT (2) << 30)

ImpProbeOutcome _imp_probe_run            (ImpProbeFunc               func,
                                           gpointer                   data,
                                           GRecMutex                 *fork_lock,
                                           guint                      timeout_s,
                                           guint64                    memory_bytes,
                                           ImpProbeReport            *report);
void          _imp_probe_report_clear     (ImpProbeReport            *report);
void          _imp_probe_stage            (const char                *what);
gboolean      _imp_probe_in_child         (void);

/* HDF5 helpers shared by the native and NWB back ends (imp-native.c). */

/* Every use of HDF5 holds this lock, so that a probe child never starts
 * while another thread is inside the library. Taking it also turns off
 * HDF5's own error printing for the thread. */
void          _imp_h5_lock                (void);
void          _imp_h5_unlock              (void);
GRecMutex    *_imp_h5_mutex               (void);

/* An HDF5 identifier of any kind, closed by g_auto() when it goes out of
 * scope; _imp_h5_steal() takes it out of the variable. */
typedef hid_t ImpH5Id;
void          _imp_h5_id_close            (ImpH5Id                    id);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (ImpH5Id, _imp_h5_id_close, H5I_INVALID_HID)

static inline hid_t
_imp_h5_steal (ImpH5Id *id)
{
  hid_t stolen = *id;

  *id = H5I_INVALID_HID;
  return stolen;
}

/* TRUE if @path starts with the HDF5 signature (at 0, 512, 1024, ...). */
gboolean      _imp_h5_is_hdf5             (const char                *path);
/* What went wrong on this thread's HDF5 error stack, in plain words
 * ("parts of it lie beyond the end of the file"); the library's own text
 * goes to the debug log. Free with g_free(). */
char         *_imp_h5_error_text          (void);
/* Reads a string attribute (fixed or variable length, scalar or the first
 * element of an array); NULL if absent or not a string. */
char         *_imp_h5_attr_string         (hid_t                      obj,
                                           const char                *name);

/* For a string attribute that _imp_h5_attr_string() could not read:
 * TRUE if it is absent or not a string, FALSE with @error set if it is
 * there but damaged. */
gboolean      _imp_h5_attr_unreadable     (hid_t                      obj,
                                           const char                *name,
                                           GError                   **error);

typedef enum
{
  IMP_H5_ATTR_ABSENT,
  IMP_H5_ATTR_OK,
  IMP_H5_ATTR_NOT_NUMBER,   /* present, but a string or another type */
  IMP_H5_ATTR_UNREADABLE,   /* present, numeric, but cannot be read */
} ImpH5AttrStatus;

/* Reads a numeric attribute as double (first element). */
ImpH5AttrStatus _imp_h5_attr_number       (hid_t                      obj,
                                           const char                *name,
                                           double                    *value);
/* Reads a numeric attribute as double (first element); FALSE if absent
 * or not numeric. */
gboolean      _imp_h5_attr_double         (hid_t                      obj,
                                           const char                *name,
                                           double                    *value);
/* Refuses a dataset whose data HDF5 cannot decode here (a compression
 * filter this build lacks) or that declares more than the file holds:
 * chunks never written, a contiguous block shorter than its extent or
 * past the end of the file. @what names it in messages ("/data"). */
gboolean      _imp_h5_check_storage       (hid_t                      dset,
                                           const char                *what,
                                           GError                   **error);
/* Reads a 1-D string dataset of exactly @n elements. */
char        **_imp_h5_read_strings        (hid_t                      dset,
                                           hsize_t                    n,
                                           GError                   **error);
/* Number of elements of a 1-D dataset, or -1 (with error) if not 1-D. */
gint64        _imp_h5_dataset_length      (hid_t                      dset,
                                           const char                *what,
                                           GError                   **error);

G_END_DECLS
