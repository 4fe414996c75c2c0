/* imp-project.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "imp-project.h"
#include "imp-recording-private.h"

/* The layout is described in docs/project-file.md: root attributes that
 * say what the file is, a /recording group with the identity of the
 * recording it was made for, and one top-level group per kind of content
 * (/pyramid, ...). */

#define PROJECT_FORMAT_NAME  "imprint-project"
#define PROJECT_SUFFIX       ".imprint"
#define TMP_INFIX            ".tmp-"
#define PROBE_TIMEOUT_S      20

G_DEFINE_QUARK (imp-project-error-quark, imp_project_error)

/* Writers commit one at a time, so that two of them cannot both copy the
 * same old version and the later rename drop what the earlier added. */
static GMutex commit_lock;

struct _ImpProject
{
  char  *path;
  hid_t  file;
};

struct _ImpProjectWriter
{
  char          *path;
  char          *tmp_path;
  ImpRecording  *recording;
  hid_t          file;
  GHashTable    *replaced;  /* top-level names not to copy */
  gboolean       committed;
  gboolean       unlinked;
};

/**
 * imp_project_path_for:
 * @recording_path: a recording's file name
 *
 * Where the project file of a recording lives: `<recording>.imprint`
 * beside it when its folder is writable; otherwise, since recordings
 * often sit on read-only shares, a file in the user's cache folder
 * (`$XDG_CACHE_HOME/imprint/`) named after the recording and a hash of
 * its absolute path.
 *
 * Returns: (transfer full): the project file's name
 */
char *
imp_project_path_for (const char *recording_path)
{
  g_autofree char *absolute = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (recording_path != NULL, NULL);

  absolute = g_canonicalize_filename (recording_path, NULL);
  dir = g_path_get_dirname (absolute);
  if (access (dir, W_OK) == 0)
    return g_strconcat (absolute, PROJECT_SUFFIX, NULL);

  base = g_path_get_basename (absolute);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, absolute, -1);
  hash[16] = '\0';
  name = g_strdup_printf ("%s-%s%s", base, hash, PROJECT_SUFFIX);

  return g_build_filename (g_get_user_cache_dir (), "imprint", name, NULL);
}

/* Attributes */

static gboolean
put_string (hid_t        obj,
            const char  *name,
            const char  *value)
{
  g_auto(ImpH5Id) type = H5Tcopy (H5T_C_S1);
  g_auto(ImpH5Id) space = H5Screate (H5S_SCALAR);
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);

  return attr >= 0 && H5Awrite (attr, type, &value) >= 0;
}

static gboolean
put_scalar (hid_t        obj,
            const char  *name,
            hid_t        file_type,
            hid_t        mem_type,
            const void  *value)
{
  g_auto(ImpH5Id) space = H5Screate (H5S_SCALAR);
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;

  attr = H5Acreate2 (obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);

  return attr >= 0 && H5Awrite (attr, mem_type, value) >= 0;
}

static gboolean
put_int64 (hid_t        obj,
           const char  *name,
           gint64       value)
{
  return put_scalar (obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

static gboolean
put_double (hid_t        obj,
            const char  *name,
            double       value)
{
  return put_scalar (obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* An integer attribute read exactly (not through a double); FALSE if it
 * is absent, not a scalar integer, or unreadable. */
static gboolean
get_int64 (hid_t        obj,
           const char  *name,
           gint64      *value)
{
  g_auto(ImpH5Id) attr = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_auto(ImpH5Id) space = H5I_INVALID_HID;

  if (H5Aexists (obj, name) <= 0)
    return FALSE;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  type = H5Aget_type (attr);
  space = H5Aget_space (attr);
  if (attr < 0 || H5Tget_class (type) != H5T_INTEGER
      || H5Sget_simple_extent_npoints (space) != 1)
    return FALSE;

  return H5Aread (attr, H5T_NATIVE_INT64, value) >= 0;
}

/* Identity */

typedef struct
{
  const char *what;
  gint64      file;
  gint64      now;
} Mismatch;

static void
set_stale (GError         **error,
           const Mismatch  *m)
{
  g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_STALE,
               "The project file was made for a recording with %s %"
               G_GINT64_FORMAT ", this one has %" G_GINT64_FORMAT,
               m->what, m->file, m->now);
}

/* Whether /recording describes @rec as it is now. */
static gboolean
check_identity (hid_t          file,
                ImpRecording  *rec,
                GError       **error)
{
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_autofree char *base = g_path_get_basename (rec->path);
  g_autofree char *stored = NULL;
  double rate = 0.0;
  Mismatch fields[] = {
    { "a size in bytes of", 0, rec->file_size },
    { "a modification time in µs of", 0, rec->file_mtime },
    { "a channel count of", 0, rec->channels->len },
    { "a sample count of", 0, rec->n_samples },
  };
  const char *names[] = { "size_bytes", "mtime_us", "n_channels",
                          "n_samples" };

  if (H5Lexists (file, "recording", H5P_DEFAULT) <= 0
      || (group = H5Gopen2 (file, "recording", H5P_DEFAULT)) < 0)
    {
      g_set_error_literal (error, IMP_PROJECT_ERROR,
                           IMP_PROJECT_ERROR_DAMAGED,
                           "The project file has no /recording group");
      return FALSE;
    }
  stored = _imp_h5_attr_string (group, "basename");
  if (g_strcmp0 (stored, base) != 0)
    {
      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_STALE,
                   "The project file was made for “%s”, not “%s”",
                   stored != NULL ? stored : "?", base);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      if (!get_int64 (group, names[i], &fields[i].file))
        {
          g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_DAMAGED,
                       "The project file's /recording has no %s",
                       names[i]);
          return FALSE;
        }
      if (fields[i].file != fields[i].now)
        {
          set_stale (error, &fields[i]);
          return FALSE;
        }
    }
  if (!_imp_h5_attr_double (group, "sample_rate_hz", &rate)
      || rate != rec->sample_rate)
    {
      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_STALE,
                   "The project file was made for a recording sampled at "
                   "%g Hz, this one is at %g Hz", rate, rec->sample_rate);
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_identity (hid_t         file,
                ImpRecording *rec)
{
  g_auto(ImpH5Id) group = H5I_INVALID_HID;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  g_autofree char *base = g_path_get_basename (rec->path);
  g_autofree char *absolute = g_canonicalize_filename (rec->path, NULL);
  gint64 version = IMP_PROJECT_FORMAT_VERSION;

  if (!put_string (file, "imprint_format", PROJECT_FORMAT_NAME)
      || !put_int64 (file, "imprint_format_version", version)
      || !put_string (file, "created_by", "Imprint " PACKAGE_VERSION)
      || !put_string (file, "created_utc", created))
    return FALSE;

  group = H5Gcreate2 (file, "recording", H5P_DEFAULT, H5P_DEFAULT,
                      H5P_DEFAULT);

  return group >= 0
         && put_string (group, "basename", base)
         && put_string (group, "path", absolute)
         && put_string (group, "format", imp_recording_get_format (rec))
         && put_int64 (group, "size_bytes", rec->file_size)
         && put_int64 (group, "mtime_us", rec->file_mtime)
         && put_int64 (group, "n_channels", rec->channels->len)
         && put_int64 (group, "n_samples", rec->n_samples)
         && put_double (group, "sample_rate_hz", rec->sample_rate);
}

/* Reading */

/* Reads one element at each end of a numeric dataset, so that its
 * chunk index and two of its chunks are decoded (and, with a checksum
 * filter, checked). */
static herr_t
touch_dataset_cb (hid_t              group,
                  const char        *name,
                  const H5L_info_t  *info,
                  gpointer           data)
{
  g_auto(ImpH5Id) obj = H5I_INVALID_HID;
  g_auto(ImpH5Id) type = H5I_INVALID_HID;
  g_auto(ImpH5Id) mtype = H5I_INVALID_HID;
  g_auto(ImpH5Id) fspace = H5I_INVALID_HID;
  g_auto(ImpH5Id) mspace = H5I_INVALID_HID;
  hsize_t dims[H5S_MAX_RANK];
  hsize_t one[H5S_MAX_RANK];
  hsize_t start[H5S_MAX_RANK];
  hsize_t mdim = 1;
  guint8 buf[64];
  H5T_class_t cls;
  int rank;

  if (info->type != H5L_TYPE_HARD)
    return 0;
  obj = H5Oopen (group, name, H5P_DEFAULT);
  if (obj < 0)
    return -1;
  if (H5Iget_type (obj) != H5I_DATASET)
    return 0;

  _imp_probe_stage (name);
  type = H5Dget_type (obj);
  cls = H5Tget_class (type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    return 0;
  mtype = H5Tget_native_type (type, H5T_DIR_ASCEND);
  fspace = H5Dget_space (obj);
  rank = H5Sget_simple_extent_dims (fspace, dims, NULL);
  if (mtype < 0 || rank < 0 || H5Tget_size (mtype) > sizeof buf)
    return -1;
  for (int i = 0; i < rank; i++)
    if (dims[i] == 0)
      return 0;
  mspace = H5Screate_simple (1, &mdim, NULL);
  for (int end = 0; end < 2; end++)
    {
      for (int i = 0; i < rank; i++)
        {
          start[i] = end == 0 ? 0 : dims[i] - 1;
          one[i] = 1;
        }
      if (rank > 0)
        H5Sselect_hyperslab (fspace, H5S_SELECT_SET, start, NULL, one,
                             NULL);
      if (H5Dread (obj, mtype, rank > 0 ? mspace : H5S_ALL,
                   rank > 0 ? fspace : H5S_ALL, H5P_DEFAULT, buf) < 0)
        return -1;
    }

  return 0;
}

/* Opens @path and checks that it is a project file of a version we read,
 * made for @rec as it is now; with @touch, also reads a little of every
 * dataset. */
static hid_t
open_checked (const char    *path,
              ImpRecording  *rec,
              gboolean       touch,
              GError       **error)
{
  g_auto(ImpH5Id) file = H5I_INVALID_HID;
  g_autofree char *format = NULL;
  gint64 version = 0;

  _imp_probe_stage ("its superblock");
  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_DAMAGED,
                   "HDF5 cannot open the project file: %s", msg);
      return H5I_INVALID_HID;
    }
  _imp_probe_stage ("its root attributes");
  format = _imp_h5_attr_string (file, "imprint_format");
  if (g_strcmp0 (format, PROJECT_FORMAT_NAME) != 0
      || !get_int64 (file, "imprint_format_version", &version))
    {
      g_set_error_literal (error, IMP_PROJECT_ERROR,
                           IMP_PROJECT_ERROR_DAMAGED,
                           "It is not an Imprint project file");
      return H5I_INVALID_HID;
    }
  if (version > IMP_PROJECT_FORMAT_VERSION || version < 1)
    {
      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_NEWER,
                   "The project file is in version %" G_GINT64_FORMAT
                   " of the format; this Imprint reads version %d",
                   version, IMP_PROJECT_FORMAT_VERSION);
      return H5I_INVALID_HID;
    }
  _imp_probe_stage ("its /recording group");
  if (!check_identity (file, rec, error))
    return H5I_INVALID_HID;
  if (touch && H5Lvisit (file, H5_INDEX_NAME, H5_ITER_NATIVE,
                         touch_dataset_cb, NULL) < 0)
    {
      g_autofree char *msg = _imp_h5_error_text ();

      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_DAMAGED,
                   "The project file is damaged: %s", msg);
      return H5I_INVALID_HID;
    }

  return _imp_h5_steal (&file);
}

typedef struct
{
  const char   *path;
  ImpRecording *rec;
} ProbeData;

static gboolean
probe_cb (gpointer   data,
          GError   **error)
{
  ProbeData *pd = data;
  hid_t file;

  _imp_h5_lock ();
  file = open_checked (pd->path, pd->rec, TRUE, error);
  _imp_h5_unlock ();

  return file >= 0;
}

/* A damaged HDF5 file can crash the library: a child reads it first. */
static gboolean
probe (const char    *path,
       ImpRecording  *rec,
       GError       **error)
{
  ProbeData pd = { path, rec };
  ImpProbeReport report;
  gboolean ok = FALSE;

  _imp_probe_run (probe_cb, &pd, _imp_h5_mutex (), PROBE_TIMEOUT_S,
                  IMP_PROBE_MEMORY_BYTES, &report);
  switch (report.outcome)
    {
    case IMP_PROBE_OK:
    case IMP_PROBE_UNAVAILABLE:
      ok = TRUE;
      break;
    case IMP_PROBE_FAILED:
      g_set_error_literal (error, IMP_PROJECT_ERROR, report.code,
                           report.message);
      break;
    case IMP_PROBE_DECLINED:
    case IMP_PROBE_CRASHED:
    case IMP_PROBE_TIMEOUT:
    case IMP_PROBE_EXITED:
    default:
      g_set_error (error, IMP_PROJECT_ERROR, IMP_PROJECT_ERROR_DAMAGED,
                   "The project file is damaged: HDF5 failed reading %s",
                   report.stage != NULL ? report.stage : "its header");
      break;
    }
  _imp_probe_report_clear (&report);

  return ok;
}

static ImpProject *
project_new (const char *path,
             hid_t       file)
{
  ImpProject *self = g_new0 (ImpProject, 1);

  self->path = g_strdup (path);
  self->file = file;
  return self;
}

/**
 * imp_project_open:
 * @path: a project file
 * @recording: the recording it should belong to
 * @error: return location for a #GError
 *
 * Opens a project file for reading, after checking (in a child process,
 * as recordings are) that HDF5 can read it, that it is in a version of
 * the format this program reads, and that it was made for @recording as
 * the recording is now.
 *
 * Returns: (transfer full) (nullable): the project, or %NULL with @error
 *   set in the %IMP_PROJECT_ERROR domain
 */
ImpProject *
imp_project_open (const char    *path,
                  ImpRecording  *recording,
                  GError       **error)
{
  hid_t file;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error_literal (error, IMP_PROJECT_ERROR,
                           IMP_PROJECT_ERROR_MISSING,
                           "There is no project file");
      return NULL;
    }
  if (!probe (path, recording, error))
    return NULL;

  _imp_h5_lock ();
  file = open_checked (path, recording, FALSE, error);
  _imp_h5_unlock ();
  if (file < 0)
    return NULL;

  return project_new (path, file);
}

/**
 * imp_project_close:
 * @self: (transfer full): a project
 *
 * Closes the file.
 */
void
imp_project_close (ImpProject *self)
{
  if (self == NULL)
    return;

  _imp_h5_id_close (self->file);
  g_free (self->path);
  g_free (self);
}

/**
 * imp_project_get_path:
 * @self: a project
 *
 * Returns: the file it was opened from
 */
const char *
imp_project_get_path (ImpProject *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * imp_project_get_file:
 * @self: a project
 *
 * Returns: (transfer none): the HDF5 file, open read-only; use it only
 *   while holding _imp_h5_lock()
 */
hid_t
imp_project_get_file (ImpProject *self)
{
  g_return_val_if_fail (self != NULL, H5I_INVALID_HID);

  return self->file;
}

/**
 * imp_project_has_group:
 * @self: a project
 * @name: a top-level group's name
 *
 * Returns: whether the project has that group
 */
gboolean
imp_project_has_group (ImpProject *self,
                       const char *name)
{
  gboolean has;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  _imp_h5_lock ();
  has = H5Lexists (self->file, name, H5P_DEFAULT) > 0;
  _imp_h5_unlock ();

  return has;
}

/* Writing */

/* Removes temporary files that writers of processes no longer running
 * left beside @path (a crash, a power cut). */
static void
remove_orphans (const char *path)
{
  g_autofree char *dir_name = g_path_get_dirname (path);
  g_autofree char *prefix = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  {
    g_autofree char *base = g_path_get_basename (path);

    prefix = g_strconcat (base, TMP_INFIX, NULL);
  }
  dir = g_dir_open (dir_name, 0, NULL);
  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *end = NULL;
      gint64 pid;

      if (!g_str_has_prefix (name, prefix))
        continue;
      /* <pid>-<8 hex digits>-<host>: only this machine's processes can
       * be looked up (the folder may be shared). */
      pid = g_ascii_strtoll (name + strlen (prefix), &end, 10);
      if (end == NULL || *end != '-' || pid <= 0 || pid > G_MAXINT32
          || strlen (end) < 10 || end[9] != '-'
          || !g_str_equal (end + 10, g_get_host_name ()))
        continue;
      if (kill ((pid_t) pid, 0) != 0 && errno == ESRCH)
        {
          g_autofree char *orphan = g_build_filename (dir_name, name, NULL);

          g_debug ("Removing %s, left by process %" G_GINT64_FORMAT,
                   orphan, pid);
          g_unlink (orphan);
        }
    }
}

static gboolean sync_file (const char  *path,
                           gboolean     directory,
                           GError     **error);

/* Whether @path is the recording's own file (a recording is never
 * written). */
static gboolean
is_recording (const char   *path,
              ImpRecording *rec)
{
  GStatBuf a, b;

  return g_stat (path, &a) == 0 && g_stat (rec->path, &b) == 0
         && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void
set_write_error (GError     **error,
                 const char  *what)
{
  g_autofree char *msg = _imp_h5_error_text ();

  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
               "%s: %s", what, msg);
}

static hid_t
create_file (const char    *tmp_path,
             ImpRecording  *rec,
             GError       **error)
{
  g_auto(ImpH5Id) fapl = H5Pcreate (H5P_FILE_ACCESS);
  g_auto(ImpH5Id) file = H5I_INVALID_HID;

  /* The 1.10 format: fixed-size datasets get the faster fixed-array
   * chunk index. Every HDF5 from 1.10 on reads it. */
  H5Pset_libver_bounds (fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  file = H5Fcreate (tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  if (file < 0)
    {
      set_write_error (error, "Cannot create the project file");
      return H5I_INVALID_HID;
    }
  if (!write_identity (file, rec))
    {
      set_write_error (error, "Cannot write the project file");
      return H5I_INVALID_HID;
    }

  return _imp_h5_steal (&file);
}

/**
 * imp_project_writer_new:
 * @path: the project file to write (imp_project_path_for())
 * @recording: the recording it belongs to
 * @error: return location for a #GError
 *
 * Starts a new version of a project file, under a temporary name in the
 * same folder (made if missing). It holds the format attributes and the
 * recording's identity; the caller adds groups with
 * imp_project_writer_add_group(), and imp_project_writer_commit() copies
 * the current version's other groups and puts the new version in place.
 *
 * Returns: (transfer full) (nullable): a writer, or %NULL with @error set
 *   (%IMP_RECORDING_ERROR_IO)
 */
ImpProjectWriter *
imp_project_writer_new (const char    *path,
                        ImpRecording  *recording,
                        GError       **error)
{
  g_autoptr(ImpProjectWriter) self = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (is_recording (path, recording))
    {
      g_set_error_literal (error, IMP_RECORDING_ERROR,
                           IMP_RECORDING_ERROR_IO,
                           "The project file would replace the recording");
      return NULL;
    }
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "Cannot make the folder for the project file: %s",
                   g_strerror (saved));
      return NULL;
    }
  remove_orphans (path);

  self = g_new0 (ImpProjectWriter, 1);
  self->path = g_strdup (path);
  self->tmp_path = g_strdup_printf ("%s" TMP_INFIX "%d-%08x-%s", path,
                                    (int) getpid (), g_random_int (),
                                    g_get_host_name ());
  self->recording = imp_recording_ref (recording);
  self->replaced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          NULL);
  g_hash_table_add (self->replaced, g_strdup ("recording"));

  _imp_h5_lock ();
  self->file = create_file (self->tmp_path, recording, error);
  _imp_h5_unlock ();
  if (self->file < 0)
    {
      g_unlink (self->tmp_path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

/**
 * imp_project_writer_get_file:
 * @self: a writer
 *
 * Returns: (transfer none): the new version's HDF5 file, open for
 *   writing; use it only while holding _imp_h5_lock()
 */
hid_t
imp_project_writer_get_file (ImpProjectWriter *self)
{
  g_return_val_if_fail (self != NULL, H5I_INVALID_HID);

  return self->file;
}

/**
 * imp_project_writer_get_path:
 * @self: a writer
 *
 * Returns: the project file it will replace when it commits
 */
const char *
imp_project_writer_get_path (ImpProjectWriter *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * imp_project_writer_add_group:
 * @self: a writer
 * @name: a top-level group's name (no '/')
 * @error: return location for a #GError
 *
 * Creates a top-level group in the new version; the current version's
 * group of that name is not copied.
 *
 * Returns: the group, to be closed by the caller (under the HDF5 lock),
 *   or a negative id with @error set
 */
hid_t
imp_project_writer_add_group (ImpProjectWriter  *self,
                              const char        *name,
                              GError           **error)
{
  hid_t group;

  g_return_val_if_fail (self != NULL, H5I_INVALID_HID);
  g_return_val_if_fail (name != NULL && *name != '\0'
                        && strchr (name, '/') == NULL, H5I_INVALID_HID);
  g_return_val_if_fail (!self->committed, H5I_INVALID_HID);

  _imp_h5_lock ();
  group = H5Gcreate2 (self->file, name, H5P_DEFAULT, H5P_DEFAULT,
                      H5P_DEFAULT);
  if (group < 0)
    set_write_error (error, "Cannot add a group to the project file");
  _imp_h5_unlock ();
  if (group >= 0)
    g_hash_table_add (self->replaced, g_strdup (name));

  return group;
}

/**
 * imp_project_writer_drop_group:
 * @self: a writer
 * @name: a top-level group's name
 *
 * Leaves the current version's group of that name out of the new one.
 */
void
imp_project_writer_drop_group (ImpProjectWriter *self,
                               const char       *name)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL);

  g_hash_table_add (self->replaced, g_strdup (name));
}

/**
 * imp_project_writer_flush:
 * @self: a writer
 * @error: return location for a #GError
 *
 * Writes what HDF5 holds of the new version to disk, so that
 * imp_project_writer_commit() is quick (it holds a lock).
 *
 * Returns: %TRUE on success
 */
gboolean
imp_project_writer_flush (ImpProjectWriter  *self,
                          GError           **error)
{
  herr_t status;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!self->committed, FALSE);

  _imp_h5_lock ();
  status = H5Fflush (self->file, H5F_SCOPE_LOCAL);
  if (status < 0)
    set_write_error (error, "Cannot write the project file");
  _imp_h5_unlock ();

  return status >= 0 && (self->unlinked
                         || sync_file (self->tmp_path, FALSE, error));
}

typedef struct
{
  ImpProjectWriter *writer;
  hid_t             from;
  gboolean          failed;
} CopyData;

static herr_t
copy_group_cb (hid_t              group,
               const char        *name,
               const H5L_info_t  *info,
               gpointer           data)
{
  CopyData *cd = data;

  if (g_hash_table_contains (cd->writer->replaced, name))
    return 0;
  if (H5Ocopy (cd->from, name, cd->writer->file, name, H5P_DEFAULT,
               H5P_DEFAULT) < 0)
    {
      cd->failed = TRUE;
      return -1;
    }
  g_debug ("Copied /%s into the new version of %s", name, cd->writer->path);

  return 0;
}

/* Copies the groups of the version now at the final path that were not
 * replaced. A version that is missing, stale or damaged has nothing worth
 * keeping; one written by a newer program must not be replaced. */
static gboolean
copy_current (ImpProjectWriter  *self,
              GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(ImpProject) current = NULL;
  CopyData cd = { self, H5I_INVALID_HID, FALSE };
  hsize_t index = 0;

  current = imp_project_open (self->path, self->recording, &local_error);
  if (current == NULL)
    {
      if (g_error_matches (local_error, IMP_PROJECT_ERROR,
                           IMP_PROJECT_ERROR_NEWER))
        {
          g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                       "The project file was written by a newer Imprint; "
                       "it is left as it is (%s)", local_error->message);
          return FALSE;
        }
      if (!g_error_matches (local_error, IMP_PROJECT_ERROR,
                            IMP_PROJECT_ERROR_MISSING))
        g_debug ("Replacing %s: %s", self->path, local_error->message);
      return TRUE;
    }

  cd.from = current->file;
  _imp_h5_lock ();
  H5Literate (current->file, H5_INDEX_NAME, H5_ITER_NATIVE, &index,
              copy_group_cb, &cd);
  if (cd.failed)
    set_write_error (error, "Cannot copy the project file's groups");
  _imp_h5_unlock ();

  return !cd.failed;
}

static gboolean
sync_file (const char  *path,
           gboolean     directory,
           GError     **error)
{
  int fd = g_open (path, (directory ? O_DIRECTORY : 0) | O_RDONLY
                   | O_CLOEXEC, 0);
  int saved;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }
  saved = errno;
  if (fd >= 0)
    close (fd);
  /* Some file systems cannot sync a folder; the rename itself is done. */
  if (directory)
    return TRUE;
  g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
               "Cannot write the project file to disk: %s",
               g_strerror (saved));
  return FALSE;
}

static gboolean
close_file (ImpProjectWriter  *self,
            GError           **error)
{
  herr_t status;

  _imp_h5_lock ();
  status = H5Fflush (self->file, H5F_SCOPE_LOCAL);
  if (status < 0)
    set_write_error (error, "Cannot write the project file");
  if (H5Fclose (self->file) < 0 && status >= 0)
    {
      set_write_error (error, "Cannot close the project file");
      status = -1;
    }
  self->file = H5I_INVALID_HID;
  _imp_h5_unlock ();

  return status >= 0;
}

/**
 * imp_project_writer_commit:
 * @self: a writer
 * @project: (out) (optional) (transfer full): the new version, opened
 *   for reading
 * @error: return location for a #GError
 *
 * Copies the groups of the current version that were not replaced,
 * closes the new version, writes it to disk and renames it into place.
 * Commits are serialised within the process. Groups the caller added
 * must be closed first. On failure nothing at the final path changes and
 * the writer's file stays open (see imp_project_writer_abandon()).
 *
 * Returns: %TRUE on success
 */
gboolean
imp_project_writer_commit (ImpProjectWriter  *self,
                           ImpProject       **project,
                           GError           **error)
{
  g_autofree char *dir = NULL;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!self->committed && !self->unlinked, FALSE);

  g_mutex_lock (&commit_lock);
  ok = copy_current (self, error) && close_file (self, error)
       && sync_file (self->tmp_path, FALSE, error);
  if (ok && g_rename (self->tmp_path, self->path) != 0)
    {
      int saved = errno;

      g_set_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_IO,
                   "Cannot move the project file into place: %s",
                   g_strerror (saved));
      ok = FALSE;
    }
  if (ok)
    {
      self->committed = TRUE;
      dir = g_path_get_dirname (self->path);
      sync_file (dir, TRUE, NULL);
    }
  g_mutex_unlock (&commit_lock);

  if (!ok)
    {
      /* Keep what was written readable, as documented. */
      if (self->file < 0)
        {
          _imp_h5_lock ();
          self->file = H5Fopen (self->tmp_path, H5F_ACC_RDWR, H5P_DEFAULT);
          _imp_h5_unlock ();
        }
      return FALSE;
    }
  if (project != NULL)
    {
      hid_t file;

      _imp_h5_lock ();
      file = H5Fopen (self->path, H5F_ACC_RDONLY, H5P_DEFAULT);
      if (file < 0)
        set_write_error (error, "Cannot open the new project file");
      _imp_h5_unlock ();
      if (file < 0)
        return FALSE;
      *project = project_new (self->path, file);
    }

  return TRUE;
}

/**
 * imp_project_writer_abandon:
 * @self: a writer
 *
 * Removes the new version's file from the folder but keeps it open, so
 * what was written can still be read through
 * imp_project_writer_get_file() until the writer is freed. Nothing
 * remains on disk.
 */
void
imp_project_writer_abandon (ImpProjectWriter *self)
{
  g_return_if_fail (self != NULL);

  if (self->committed || self->unlinked)
    return;
  g_unlink (self->tmp_path);
  self->unlinked = TRUE;
}

/**
 * imp_project_writer_free:
 * @self: (transfer full): a writer
 *
 * Frees the writer; a version not committed is deleted.
 */
void
imp_project_writer_free (ImpProjectWriter *self)
{
  if (self == NULL)
    return;

  if (self->file >= 0)
    _imp_h5_id_close (self->file);
  if (!self->committed && !self->unlinked)
    g_unlink (self->tmp_path);
  g_clear_pointer (&self->recording, imp_recording_unref);
  g_hash_table_unref (self->replaced);
  g_free (self->path);
  g_free (self->tmp_path);
  g_free (self);
}
