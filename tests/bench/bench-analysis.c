/* bench-analysis.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* How fast the analysis is against reading the recording from disk, how
 * much memory it takes, how its time grows with duration and channels,
 * and how it compares with a straightforward NumPy pipeline. Run with
 *
 *   meson test -C build --benchmark analysis --verbose
 *
 * Environment (defaults in brackets):
 *   IMP_BENCH_CHANNELS [4096]   channels of the main recording
 *   IMP_BENCH_SECONDS  [30]     its duration
 *   IMP_BENCH_RATE     [9000]   sampling rate, Hz
 *   IMP_BENCH_ACCESS   [0.42]   fraction of channels with access (the
 *                               reference recording: 1,728 of 4,096)
 *   IMP_BENCH_RUNS     [3]      runs of each measurement (medians)
 *   IMP_BENCH_DURATIONS [10,20,40]      durations for the scaling runs
 *   IMP_BENCH_CHANNEL_COUNTS [1024,2048,4096]  channel counts for them
 *   IMP_BENCH_SCALING_RUNS [1]  runs per scaling point; 0 skips scaling
 *   IMP_BENCH_PEER     [1]      0 skips the comparison with peer-sta.py
 *   IMP_BENCH_DIR      [$TMPDIR] where the simulated recordings go
 *
 * Every measurement runs in a child process (this program with --analyze
 * or --read), after the file's pages were dropped from the page cache
 * (posix_fadvise POSIX_FADV_DONTNEED) unless it says "warm". The last
 * line is a key=value summary. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "imp-analysis.h"
#include "imp-map.h"
#include "imp-recording.h"
#include "imp-simulate.h"

#define READ_BLOCK (8u << 20)

/* The child's side */

/* The stages as the progress names them; the correlation's waveform test
 * reports as "Correlating pairs" from 0.75 on. */
enum
{
  STAGE_DETECT,
  STAGE_COUNT,
  STAGE_WAVE,
  STAGE_MEASURE,
  STAGE_QUANTA,
  STAGE_DONE,
  N_STAGES
};

#define WAVE_FROM 0.75

typedef struct
{
  gint64  start;
  gint64  stage_start[N_STAGES];
  int     stage;
} StageClock;

static int
stage_of (double      fraction,
          const char *stage)
{
  if (g_strcmp0 (stage, "Reading and detecting") == 0)
    return STAGE_DETECT;
  if (g_strcmp0 (stage, "Correlating pairs") == 0)
    return fraction >= WAVE_FROM ? STAGE_WAVE : STAGE_COUNT;
  if (g_strcmp0 (stage, "Measuring candidates") == 0)
    return STAGE_MEASURE;
  if (g_strcmp0 (stage, "Fitting quanta") == 0)
    return STAGE_QUANTA;
  if (g_strcmp0 (stage, "Done") == 0)
    return STAGE_DONE;
  return -1;
}

static void
stage_cb (double      fraction,
          const char *stage,
          gpointer    data)
{
  StageClock *clock = data;
  int now = stage_of (fraction, stage);

  /* A stage that is skipped starts and ends at the next one's start. */
  for (int j = clock->stage + 1; j <= now; j++)
    clock->stage_start[j] = g_get_monotonic_time ();
  clock->stage = MAX (clock->stage, now);
}

static double
stage_seconds (const StageClock *clock,
               int               stage)
{
  return (clock->stage_start[stage + 1] - clock->stage_start[stage]) / 1e6;
}

static long
vm_hwm_kb (void)
{
  g_autofree char *status = NULL;
  const char *at;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  at = strstr (status, "VmHWM:");
  return at != NULL ? strtol (at + 6, NULL, 10) : -1;
}

/* --analyze FILE [MAP.csv]: one analysis, times by stage. */
static int
child_analyze (const char *path,
               const char *map_csv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  ImpAnalysisParams params;
  StageClock clock = { 0 };

  clock.start = g_get_monotonic_time ();
  clock.stage = -1;
  rec = imp_recording_open (path, &error);
  if (rec == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  stage_cb (0.0, "Reading and detecting", &clock);
  imp_analysis_params_init_default (&params);
  res = imp_analysis_run (rec, &params, stage_cb, &clock, NULL, &error);
  if (res == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  stage_cb (1.0, "Done", &clock);
  if (map_csv != NULL)
    {
      g_autoptr(GArray) map = imp_analysis_result_to_map (res);

      if (!imp_map_write_csv (map, map_csv, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }
  printf ("open=%.4f detect=%.4f pairs=%.4f counts=%.4f wave=%.4f "
          "measure=%.4f quanta=%.4f total=%.4f "
          "connections=%u candidates=%u pairs_tested=%" G_GUINT64_FORMAT
          " hwm_kb=%ld\n",
          (clock.stage_start[STAGE_DETECT] - clock.start) / 1e6,
          stage_seconds (&clock, STAGE_DETECT),
          stage_seconds (&clock, STAGE_COUNT)
          + stage_seconds (&clock, STAGE_WAVE),
          stage_seconds (&clock, STAGE_COUNT),
          stage_seconds (&clock, STAGE_WAVE),
          stage_seconds (&clock, STAGE_MEASURE),
          stage_seconds (&clock, STAGE_QUANTA),
          (clock.stage_start[STAGE_DONE] - clock.start) / 1e6,
          res->n_connections, res->candidates->len, res->n_pairs_tested,
          vm_hwm_kb ());
  return 0;
}

/* --read FILE: reads the file from start to end, as fast as it goes. */
static int
child_read (const char *path)
{
  g_autofree char *buf = g_malloc (READ_BLOCK);
  gint64 start = g_get_monotonic_time ();
  guint64 total = 0;
  ssize_t got;
  int fd = g_open (path, O_RDONLY, 0);

  if (fd < 0)
    {
      g_printerr ("%s: %s\n", path, g_strerror (errno));
      return 1;
    }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  while ((got = read (fd, buf, READ_BLOCK)) > 0)
    total += (guint64) got;
  close (fd);
  if (got < 0)
    return 1;
  printf ("total=%.4f bytes=%" G_GUINT64_FORMAT " hwm_kb=%ld\n",
          (g_get_monotonic_time () - start) / 1e6, total, vm_hwm_kb ());
  return 0;
}

/* The parent's side */

typedef struct
{
  double wall;        /* s */
  double cpu;         /* s, user and system, from wait4() */
  long   max_rss_kb;  /* the child's, from wait4() */
  char  *line;        /* its last line of output */
} ChildRun;

static void
child_run_clear (ChildRun *run)
{
  g_clear_pointer (&run->line, g_free);
}

/* Runs @argv (NULL-terminated) and waits; FALSE if it failed. */
static gboolean
run_child (const char * const *argv,
           ChildRun           *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  gint64 start = g_get_monotonic_time ();
  struct rusage usage;
  GPid pid;
  int out_fd, status = 0;
  char buf[4096];
  ssize_t got;
  char **lines;

  memset (out, 0, sizeof *out);
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                 NULL, &out_fd, NULL, &error))
    {
      g_printerr ("Cannot run %s: %s\n", argv[0], error->message);
      return FALSE;
    }
  while ((got = read (out_fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, got);
  close (out_fd);
  if (wait4 (pid, &status, 0, &usage) < 0)
    return FALSE;
  g_spawn_close_pid (pid);
  out->wall = (g_get_monotonic_time () - start) / 1e6;
  out->max_rss_kb = usage.ru_maxrss;
  out->cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
             + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  g_strchomp (text->str);
  lines = g_strsplit (text->str, "\n", -1);
  out->line = g_strdup (lines[0] != NULL
                        ? lines[g_strv_length (lines) - 1] : "");
  g_strfreev (lines);
  return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/* A number from a "key=value key=value" line. */
static double
field (const char *line,
       const char *key)
{
  g_autofree char *pattern = g_strdup_printf ("%s=", key);
  const char *at = line;

  while ((at = strstr (at, pattern)) != NULL)
    {
      if (at == line || at[-1] == ' ')
        return g_ascii_strtod (at + strlen (pattern), NULL);
      at++;
    }
  return NAN;
}

/* Drops the file's pages from the page cache, after writing back any
 * that are dirty (the simulator has just written them). */
static void
drop_cache (const char *path)
{
  int fd = g_open (path, O_RDONLY, 0);

  if (fd < 0)
    return;
  fdatasync (fd);
  posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  close (fd);
}

static void
warm_cache (const char *self_exe,
            const char *path)
{
  const char *argv[] = { self_exe, "--read", path, NULL };
  ChildRun run;

  run_child (argv, &run);
  child_run_clear (&run);
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *v,
        guint   n)
{
  if (n == 0)
    return NAN;
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *v = g_getenv (name);

  return v != NULL && *v != '\0' ? (guint) g_ascii_strtoull (v, NULL, 10)
                                 : fallback;
}

static double
env_double (const char *name,
            double      fallback)
{
  const char *v = g_getenv (name);

  return v != NULL && *v != '\0' ? g_ascii_strtod (v, NULL) : fallback;
}

static GArray *
env_list (const char *name,
          const char *fallback)
{
  const char *v = g_getenv (name);
  g_auto(GStrv) parts = g_strsplit (v != NULL && *v != '\0' ? v : fallback,
                                    ",", -1);
  GArray *list = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; parts[i] != NULL; i++)
    {
      double x = g_ascii_strtod (parts[i], NULL);

      if (x > 0)
        g_array_append_val (list, x);
    }
  return list;
}

typedef struct
{
  const char *self_exe;
  char       *dir;
  double      rate;
  double      access;
  guint       n_cores;
} Bench;

static gboolean
simulate (Bench      *b,
          guint       channels,
          double      seconds,
          double      rate,
          double      access,
          const char *path,
          const char *truth)
{
  g_autoptr(GError) error = NULL;
  ImpSimParams p;
  gint64 start = g_get_monotonic_time ();
  GStatBuf st;

  imp_sim_params_init_default (&p);
  p.n_neurons = channels;
  p.duration_s = seconds;
  p.sample_rate_hz = rate;
  p.no_access_frac = 1.0 - access;
  if (!imp_simulate (&p, path, truth, NULL, NULL, NULL, &error))
    {
      g_printerr ("Cannot simulate: %s\n", error->message);
      return FALSE;
    }
  g_stat (path, &st);
  printf ("simulated %u channels × %g s at %g Hz: %.2f GB in %.1f s\n",
          channels, seconds, rate, st.st_size / 1e9,
          (g_get_monotonic_time () - start) / 1e6);
  fflush (stdout);
  return TRUE;
}

static double
file_gb (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? st.st_size / 1e9 : NAN;
}

typedef struct
{
  double read_cold;     /* s, medians */
  double analysis_cold;
  double analysis_warm;
  double cpu_cold;      /* processor time of the cold analyses */
  double detect;        /* stages of the cold runs */
  double pairs;         /* counts and waveform test */
  double counts;
  double wave;
  double measure;
  double quanta;
  double rss_mb;        /* the largest over the analysis runs */
  double read_rss_mb;
  double pairs_tested;
  double connections;
  double candidates;
} Measured;

/* @runs cold reads and cold analyses side by side, and @warm_runs
 * analyses from the page cache. */
static gboolean
measure (Bench      *b,
         const char *path,
         guint       runs,
         guint       warm_runs,
         Measured   *m)
{
  g_autofree double *read = g_new0 (double, MAX (runs, 1));
  g_autofree double *cold = g_new0 (double, MAX (runs, 1));
  g_autofree double *warm = g_new0 (double, MAX (warm_runs, 1));
  g_autofree double *det = g_new0 (double, MAX (runs, 1));
  g_autofree double *pairs = g_new0 (double, MAX (runs, 1));
  g_autofree double *meas = g_new0 (double, MAX (runs, 1));
  g_autofree double *cpu = g_new0 (double, MAX (runs, 1));
  g_autofree double *counts = g_new0 (double, MAX (runs, 1));
  g_autofree double *wave = g_new0 (double, MAX (runs, 1));
  g_autofree double *quanta = g_new0 (double, MAX (runs, 1));
  const char *read_argv[] = { b->self_exe, "--read", path, NULL };
  const char *an_argv[] = { b->self_exe, "--analyze", path, NULL };
  guint r;

  memset (m, 0, sizeof *m);
  for (r = 0; r < runs; r++)
    {
      ChildRun run;

      drop_cache (path);
      if (!run_child (read_argv, &run))
        return FALSE;
      read[r] = field (run.line, "total");
      m->read_rss_mb = MAX (m->read_rss_mb, run.max_rss_kb / 1024.0);
      child_run_clear (&run);

      drop_cache (path);
      if (!run_child (an_argv, &run))
        return FALSE;
      cold[r] = field (run.line, "total");
      cpu[r] = run.cpu;
      det[r] = field (run.line, "detect");
      pairs[r] = field (run.line, "pairs");
      meas[r] = field (run.line, "measure");
      counts[r] = field (run.line, "counts");
      wave[r] = field (run.line, "wave");
      quanta[r] = field (run.line, "quanta");
      m->rss_mb = MAX (m->rss_mb, run.max_rss_kb / 1024.0);
      m->pairs_tested = field (run.line, "pairs_tested");
      m->connections = field (run.line, "connections");
      m->candidates = field (run.line, "candidates");
      printf ("  run %u: cold read %.2f s, cold analysis %.2f s "
              "(detect %.2f, pairs %.2f = counts %.2f + waveform test "
              "%.2f, measure %.2f, quanta %.2f; %.1f s of processor "
              "time), peak RSS %.0f MB\n",
              r + 1, read[r], cold[r], det[r], pairs[r], counts[r], wave[r],
              meas[r], quanta[r], run.cpu, run.max_rss_kb / 1024.0);
      fflush (stdout);
      child_run_clear (&run);
    }
  for (r = 0; r < warm_runs; r++)
    {
      ChildRun run;

      warm_cache (b->self_exe, path);
      if (!run_child (an_argv, &run))
        return FALSE;
      warm[r] = field (run.line, "total");
      m->rss_mb = MAX (m->rss_mb, run.max_rss_kb / 1024.0);
      printf ("  run %u: warm analysis %.2f s\n", r + 1, warm[r]);
      fflush (stdout);
      child_run_clear (&run);
    }
  m->read_cold = median (read, runs);
  m->analysis_cold = median (cold, runs);
  m->analysis_warm = median (warm, warm_runs);
  m->detect = median (det, runs);
  m->pairs = median (pairs, runs);
  m->measure = median (meas, runs);
  m->cpu_cold = median (cpu, runs);
  m->counts = median (counts, runs);
  m->wave = median (wave, runs);
  m->quanta = median (quanta, runs);
  return TRUE;
}

typedef struct
{
  double size;     /* seconds or channels */
  double seconds;  /* cold analysis */
  double cpu;      /* its processor time */
  double detect;
  double pairs;
  double gb;
} Point;

/* Time per unit of size, each point against the first; "linear" when all
 * lie within 25 % of one another. */
static gboolean
report_scaling (const char *what,
                GArray     *points,
                double      (*cost) (const Point *p))
{
  double lo = INFINITY, hi = 0;

  for (guint i = 0; i < points->len; i++)
    {
      const Point *p = &g_array_index (points, Point, i);
      double per = cost (p) / p->size;

      lo = MIN (lo, per);
      hi = MAX (hi, per);
    }
  printf ("  %s: time per unit varies by %.0f %% across the points: %s\n",
          what, 100.0 * (hi / lo - 1), hi <= 1.25 * lo ? "linear"
                                                        : "not linear");
  return hi <= 1.25 * lo;
}

static double cost_total (const Point *p) { return p->seconds; }
static double cost_cpu (const Point *p) { return p->cpu; }
static double cost_detect (const Point *p) { return p->detect; }

/* Per ordered pair tested rather than per channel: the pairs grow with the
 * square of the channels. */
static double cost_pairs_per_channel2 (const Point *p)
{
  return p->pairs / p->size;
}

static gboolean
scale_points (Bench      *b,
              const char *label,
              GArray     *sizes,
              gboolean    by_channels,
              guint       channels,
              double      seconds,
              guint       runs,
              GArray     *points)
{
  for (guint i = 0; i < sizes->len; i++)
    {
      double size = g_array_index (sizes, double, i);
      guint n = by_channels ? (guint) size : channels;
      double s = by_channels ? seconds : size;
      g_autofree char *name = g_strdup_printf ("scale-%u-%g.h5", n, s);
      g_autofree char *path = g_build_filename (b->dir, name, NULL);
      Measured m;
      Point p;

      if (!simulate (b, n, s, b->rate, b->access, path, NULL))
        return FALSE;
      printf ("%s %g:\n", label, size);
      if (!measure (b, path, runs, 0, &m))
        return FALSE;
      p.size = size;
      p.seconds = m.analysis_cold;
      p.cpu = m.cpu_cold;
      p.detect = m.detect;
      p.pairs = m.pairs;
      p.gb = file_gb (path);
      g_array_append_val (points, p);
      printf ("  %.2f GB: analysis %.2f s (%.3f s per GB), pairs %.2f s, "
              "%.1f s of processor time (%.2f s per GB)\n", p.gb, p.seconds,
              p.seconds / p.gb, p.pairs, p.cpu, p.cpu / p.gb);
      g_unlink (path);
    }
  return TRUE;
}

/* The peer: our NumPy/SciPy pipeline against the analysis, both scored
 * against the simulator's truth. */
/* A python3 that imports NumPy, SciPy and h5py: $IMP_PYTHON, or the first
 * such python3 along $PATH (a version manager's python3 may come first
 * without them). */
static char *
find_python (void)
{
  const char *path = g_getenv ("PATH");
  g_auto(GStrv) dirs = g_strsplit (path != NULL ? path : "", ":", -1);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);

  if (g_getenv ("IMP_PYTHON") != NULL)
    g_ptr_array_add (candidates, g_strdup (g_getenv ("IMP_PYTHON")));
  for (guint i = 0; dirs[i] != NULL; i++)
    if (*dirs[i] != '\0')
      g_ptr_array_add (candidates, g_build_filename (dirs[i], "python3",
                                                     NULL));
  for (guint i = 0; i < candidates->len; i++)
    {
      const char *python = g_ptr_array_index (candidates, i);
      const char *argv[] = { python, "-c", "import numpy, scipy, h5py",
                             NULL };
      gint status = 0;

      if (g_file_test (python, G_FILE_TEST_IS_EXECUTABLE)
          && g_spawn_sync (NULL, (char **) argv, NULL,
                           G_SPAWN_STDOUT_TO_DEV_NULL
                           | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                           NULL, &status, NULL)
          && g_spawn_check_wait_status (status, NULL))
        return g_strdup (python);
    }
  return NULL;
}

static gboolean
peer_compare (Bench      *b,
              guint       runs,
              GString    *summary)
{
  const char *script = g_getenv ("IMP_PEER_SCRIPT");
  g_autofree char *path = g_build_filename (b->dir, "peer.h5", NULL);
  g_autofree char *truth_csv = g_build_filename (b->dir, "peer-truth.csv",
                                                 NULL);
  g_autofree char *ours_csv = g_build_filename (b->dir, "peer-ours.csv",
                                                NULL);
  g_autofree char *peer_csv = g_build_filename (b->dir, "peer-peer.csv",
                                                NULL);
  g_autofree double *ours = g_new0 (double, MAX (runs, 1));
  g_autofree char *python = find_python ();
  const char *an_argv[] = { b->self_exe, "--analyze", path, ours_csv, NULL };
  const char *peer_argv[] = { python, script, path, peer_csv, NULL };
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) peer = NULL;
  ImpMapScore so, sp;
  ChildRun run;
  double peer_time;

  if (script == NULL || python == NULL)
    {
      printf ("peer comparison skipped: it needs python3 with NumPy, SciPy "
              "and h5py (Debian: python3-numpy python3-scipy "
              "python3-h5py)%s\n", script == NULL
                                   ? " and IMP_PEER_SCRIPT" : "");
      g_string_append (summary, " peer=skipped");
      return TRUE;
    }

  printf ("peer comparison, 64 channels × 100 s at 10 kHz:\n");
  if (!simulate (b, 64, 100, 10000, 0.85, path, truth_csv))
    return FALSE;
  warm_cache (b->self_exe, path);
  for (guint r = 0; r < runs; r++)
    {
      if (!run_child (an_argv, &run))
        return FALSE;
      ours[r] = run.wall;
      child_run_clear (&run);
    }
  if (!run_child (peer_argv, &run))
    {
      g_printerr ("peer-sta.py failed\n");
      return FALSE;
    }
  peer_time = run.wall;
  child_run_clear (&run);

  truth = imp_map_read_csv (truth_csv, NULL);
  found = imp_map_read_csv (ours_csv, NULL);
  peer = imp_map_read_csv (peer_csv, NULL);
  if (truth == NULL || found == NULL || peer == NULL)
    return FALSE;
  imp_map_score (found, truth, &so);
  imp_map_score (peer, truth, &sp);
  printf ("  imprint:  %.2f s (median of %u, process wall time), "
          "%u found, precision %.3f, recall %.3f\n",
          median (ours, runs), runs, found->len, so.precision, so.recall);
  printf ("  peer-sta: %.2f s, %u found, precision %.3f, recall %.3f\n",
          peer_time, peer->len, sp.precision, sp.recall);
  printf ("  imprint is %.0f× faster\n", peer_time / median (ours, runs));
  g_string_append_printf (summary, " peer_speedup=%.1f precision=%.3f "
                          "recall=%.3f peer_precision=%.3f "
                          "peer_recall=%.3f",
                          peer_time / median (ours, runs), so.precision,
                          so.recall, sp.precision, sp.recall);
  g_unlink (path);
  g_unlink (truth_csv);
  g_unlink (ours_csv);
  g_unlink (peer_csv);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GString) summary = g_string_new ("summary:");
  g_autoptr(GArray) durations = NULL;
  g_autoptr(GArray) counts = NULL;
  g_autofree char *path = NULL;
  g_autofree char *self_exe = NULL;
  guint channels, runs, scaling_runs;
  double seconds, gb, ratio;
  Measured m;
  Bench b = { 0 };

  if (argc >= 3 && g_str_equal (argv[1], "--analyze"))
    return child_analyze (argv[2], argc >= 4 ? argv[3] : NULL);
  if (argc >= 3 && g_str_equal (argv[1], "--read"))
    return child_read (argv[2]);

  setvbuf (stdout, NULL, _IOLBF, 0);
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  b.self_exe = self_exe;
  channels = env_uint ("IMP_BENCH_CHANNELS", 4096);
  seconds = env_double ("IMP_BENCH_SECONDS", 30);
  b.rate = env_double ("IMP_BENCH_RATE", 9000);
  b.access = env_double ("IMP_BENCH_ACCESS", 1728.0 / 4096);
  runs = MAX (env_uint ("IMP_BENCH_RUNS", 3), 1);
  scaling_runs = env_uint ("IMP_BENCH_SCALING_RUNS", 1);
  durations = env_list ("IMP_BENCH_DURATIONS", "10,20,40");
  counts = env_list ("IMP_BENCH_CHANNEL_COUNTS", "1024,2048,4096");
  b.n_cores = g_get_num_processors ();
  if (g_getenv ("IMP_BENCH_DIR") != NULL)
    b.dir = g_mkdtemp (g_build_filename (g_getenv ("IMP_BENCH_DIR"),
                                         "imp-bench-XXXXXX", NULL));
  else
    b.dir = g_dir_make_tmp ("imp-bench-XXXXXX", NULL);
  if (b.dir == NULL)
    {
      g_printerr ("Cannot make a folder for the recordings\n");
      return 1;
    }

  printf ("machine: %u processors; recordings in %s\n", b.n_cores, b.dir);
  path = g_build_filename (b.dir, "main.h5", NULL);
  if (!simulate (&b, channels, seconds, b.rate, b.access, path, NULL))
    return 1;
  gb = file_gb (path);
  printf ("main recording, %u channels × %g s (%.2f GB), %u runs:\n",
          channels, seconds, gb, runs);
  if (!measure (&b, path, runs, runs, &m))
    return 1;
  ratio = m.analysis_cold / m.read_cold;
  printf ("cold read %.2f s (%.2f GB/s); cold analysis %.2f s: %.2f× the "
          "read (target ≤ 1.5)\n", m.read_cold, gb / m.read_cold,
          m.analysis_cold, ratio);
  printf ("warm analysis %.2f s: %.2f GB/s, %.2f GB/s per core\n",
          m.analysis_warm, gb / m.analysis_warm,
          gb / m.analysis_warm / b.n_cores);
  /* Other work on the machine stretches the wall time; the processor time
   * does not, and divided by the cores it is what an idle machine with
   * all cores busy would take. */
  printf ("processor time of a cold analysis %.1f s: %.2f s on %u idle "
          "cores, %.2f× the read; %.3f GB/s per core\n", m.cpu_cold,
          m.cpu_cold / b.n_cores, b.n_cores,
          m.cpu_cold / b.n_cores / m.read_cold, gb / m.cpu_cold);
  printf ("stages (cold, median): detect %.2f s, pairs %.2f s (%.0f %% of "
          "the analysis, %.0f pairs: counts %.2f s, waveform test %.2f s), "
          "measure %.2f s (%.0f candidates), quantal fits %.2f s\n",
          m.detect, m.pairs, 100 * m.pairs / m.analysis_cold,
          m.pairs_tested, m.counts, m.wave, m.measure, m.candidates,
          m.quanta);
  printf ("peak RSS %.0f MB (analysis), %.0f MB (plain read)\n", m.rss_mb,
          m.read_rss_mb);
  g_string_append_printf (summary, " channels=%u seconds=%g gb=%.2f "
                          "cold_read_s=%.2f analysis_s=%.2f ratio=%.2f "
                          "warm_gbps_per_core=%.3f cpu_s=%.1f "
                          "cpu_gbps_per_core=%.3f peak_rss_mb=%.0f "
                          "pairs_share=%.2f wave_share=%.2f "
                          "quanta_share=%.2f",
                          channels, seconds, gb, m.read_cold,
                          m.analysis_cold, ratio,
                          gb / m.analysis_warm / b.n_cores, m.cpu_cold,
                          gb / m.cpu_cold, m.rss_mb,
                          m.pairs / m.analysis_cold,
                          m.wave / m.analysis_cold,
                          m.quanta / m.analysis_cold);
  g_unlink (path);

  if (scaling_runs > 0)
    {
      g_autoptr(GArray) by_time = g_array_new (FALSE, FALSE, sizeof (Point));
      g_autoptr(GArray) by_channels = g_array_new (FALSE, FALSE,
                                                   sizeof (Point));
      gboolean lin_t, lin_c, lin_cd;

      printf ("scaling with duration at %u channels:\n", channels);
      if (!scale_points (&b, "seconds", durations, FALSE, channels, 0,
                         scaling_runs, by_time))
        return 1;
      report_scaling ("analysis (wall) per second of recording", by_time,
                      cost_total);
      lin_t = report_scaling ("analysis (processor time) per second of "
                              "recording", by_time, cost_cpu);
      printf ("scaling with channels at %g s:\n", seconds);
      if (!scale_points (&b, "channels", counts, TRUE, 0, seconds,
                         scaling_runs, by_channels))
        return 1;
      report_scaling ("analysis (wall) per channel", by_channels,
                      cost_total);
      lin_c = report_scaling ("analysis (processor time) per channel",
                              by_channels, cost_cpu);
      lin_cd = report_scaling ("detection per channel", by_channels,
                               cost_detect);
      report_scaling ("pairs per channel² (all ordered pairs)", by_channels,
                      cost_pairs_per_channel2);
      g_string_append_printf (summary, " linear_duration=%s "
                              "linear_channels=%s linear_detect_channels=%s",
                              lin_t ? "yes" : "no", lin_c ? "yes" : "no",
                              lin_cd ? "yes" : "no");
    }

  if (env_uint ("IMP_BENCH_PEER", 1) != 0 && !peer_compare (&b, runs,
                                                           summary))
    return 1;

  g_rmdir (b.dir);
  g_free (b.dir);
  printf ("%s\n", summary->str);
  return 0;
}
