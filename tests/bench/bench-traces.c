/* bench-traces.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* What a new view of the Traces view costs on a 4,096-channel recording:
 * the columns of 64 channels × 1,920 pixels for a time window, taken cold
 * (a new column cache each frame) from the recording or its level-of-
 * detail pyramid, their baselines, and the traces rasterised into a
 * 1920×1080 image. Scenarios: the whole recording, the deepest zoom,
 * random windows, and the same windows at the start and at the end of the
 * file. Also the pyramid's build time, and the time from opening the
 * file (no pyramid yet) to the first complete frame of the whole
 * recording.
 *
 * IMP_BENCH_SECONDS sets the simulated duration (default 10 s; each
 * second is about 80 MiB); IMP_BENCH_RECORDING names a recording (of at
 * least 64 channels) to measure instead. Frame times are wall-clock; the
 * line before the last gives their CPU time, which other work on a shared
 * machine does not stretch. The last line is
 *   frame_ms_median=X frame_ms_p95=Y first_frame_ms=Z end_vs_start=R
 * where R is the median frame at the end of the file over that at its
 * start. */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <glib/gstdio.h>

#include "imp-pyramid.h"
#include "imp-raster.h"
#include "imp-recording.h"
#include "imp-simulate.h"
#include "imp-trace-cache.h"

#define N_CHANNELS        4096
#define ROWS              64
#define WIDTH             1920
#define HEIGHT            1080
#define MAX_PX_PER_SAMPLE 16.0    /* the view's deepest zoom */
#define DEFAULT_SECONDS   10.0

typedef struct
{
  ImpRecording   *recording;
  ImpPyramid     *pyramid;
  ImpRasterImage  image;
  gint64          n_samples;
  GRand          *rand;
} Bench;

typedef struct
{
  const char *name;
  GArray     *ms;          /* double */
  guint64     samples;     /* read, summed over frames */
  guint64     bins;        /* pyramid bins read, summed over frames */
  double      fetch_ms;    /* getting the columns, summed over frames */
  GArray     *cpu_ms;      /* double: the frames' CPU time */
} Scenario;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* This thread's CPU time: what a frame costs without the other work on
 * a shared machine. */
static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
compare_double (const void *a,
                const void *b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

/* The @q quantile of @values, by the nearest rank. */
static double
quantile (GArray *values,
          double  q)
{
  g_autofree double *sorted = NULL;
  guint rank;

  if (values->len == 0)
    return NAN;

  sorted = g_memdup2 (values->data, values->len * sizeof (double));
  qsort (sorted, values->len, sizeof (double), compare_double);
  rank = (guint) ceil (q * values->len);
  return sorted[CLAMP (rank, 1, values->len) - 1];
}

/* Draws the rows of @cache's columns [c0, c1) as the view does: each
 * channel in its band, about its baseline (the median of a sample per
 * column). */
static void
rasterise (Bench         *bench,
           ImpTraceCache *cache,
           const guint   *channels,
           gint64         c0,
           gint64         c1,
           double         x0,
           double         dx)
{
  guint n = c1 - c0;
  g_autofree float *mins = g_new (float, n);
  g_autofree float *maxs = g_new (float, n);
  g_autofree float *mids = g_new (float, n);
  double band = (double) HEIGHT / ROWS;
  ImpRasterTrace trace = { 0 };

  imp_raster_clear (&bench->image, 0);
  trace.n_columns = n;
  trace.x0 = x0;
  trace.dx = dx;
  trace.line_width = 1;
  trace.clip_right = WIDTH;
  trace.color = imp_raster_color (0.2, 0.2, 0.2, 0.85);

  for (guint r = 0; r < ROWS; r++)
    {
      g_autoptr(GArray) sample = g_array_new (FALSE, FALSE, sizeof (float));
      double baseline;

      imp_trace_cache_get_columns (cache, channels[r], c0, n, mins, maxs,
                                   mids, NULL);
      for (guint k = 0; k < n; k++)
        if (!isnan (mids[k]))
          g_array_append_val (sample, mids[k]);
      if (!imp_trace_cache_summarise (sample, NULL, NULL, 0, &baseline,
                                      NULL, NULL))
        continue;

      trace.min = mins;
      trace.max = maxs;
      trace.clip_top = (int) round (r * band);
      trace.clip_bottom = (int) round ((r + 1) * band);
      trace.scale = 0.5;
      trace.offset = (r + 0.6) * band + baseline * trace.scale;
      imp_raster_draw_trace (&bench->image, &trace);
    }
}

/* One new view of channels [first, first + ROWS) over samples
 * [t0, t0 + span): the columns from a cold cache, then the image. Returns
 * its time in ms. */
static double
frame (Bench    *bench,
       guint     first,
       double    t0,
       double    span,
       guint64  *samples,
       guint64  *bins,
       double   *fetch_ms)
{
  g_autoptr(ImpTraceCache) cache = NULL;
  g_autoptr(GError) error = NULL;
  guint channels[ROWS];
  double start = now_ms ();
  double spp = span / WIDTH;
  gboolean complete = FALSE;
  guint level;
  gint64 spc, c0, c1;
  double end = MIN (t0 + span, bench->n_samples);

  for (guint r = 0; r < ROWS; r++)
    channels[r] = first + r;

  cache = imp_trace_cache_new (bench->recording);
  imp_trace_cache_set_pyramid (cache, bench->pyramid, FALSE);
  level = imp_trace_cache_level_for (spp);
  imp_trace_cache_set_level (cache, level);
  spc = G_GINT64_CONSTANT (1) << level;
  c0 = MAX (0, (gint64) floor (t0 / spc) - 1);
  c1 = MIN ((bench->n_samples + spc - 1) / spc, (gint64) ceil (end / spc) + 1);

  while (!complete)
    if (!imp_trace_cache_fetch (cache, channels, ROWS, c0, c1,
                                g_get_monotonic_time () + G_USEC_PER_SEC,
                                &complete, &error))
      g_error ("Reading failed: %s", error->message);

  if (fetch_ms != NULL)
    *fetch_ms += now_ms () - start;

  rasterise (bench, cache, channels, c0, c1,
             (c0 * spc + (spc > 1 ? spc / 2.0 : 0) - t0) / spp, spc / spp);

  if (samples != NULL)
    *samples += imp_trace_cache_get_samples_read (cache);
  if (bins != NULL)
    *bins += imp_trace_cache_get_bins_read (cache);

  return now_ms () - start;
}

static double
min_span (void)
{
  return WIDTH / MAX_PX_PER_SAMPLE;
}

static guint
random_first (Bench *bench)
{
  return g_rand_int_range (bench->rand, 0,
                           imp_recording_get_n_channels (bench->recording)
                           - ROWS + 1);
}

/* A span between the deepest zoom and the whole recording, evenly on a
 * log scale. */
static double
random_span (Bench *bench)
{
  double lo = log (min_span ());
  double hi = log ((double) bench->n_samples);

  return exp (g_rand_double_range (bench->rand, lo, hi));
}

static void
run (Bench    *bench,
     Scenario *scenario,
     guint     first,
     double    t0,
     double    span)
{
  double cpu = cpu_ms ();
  double ms = frame (bench, first, t0, span, &scenario->samples,
                     &scenario->bins, &scenario->fetch_ms);

  cpu = cpu_ms () - cpu;
  g_array_append_val (scenario->ms, ms);
  g_array_append_val (scenario->cpu_ms, cpu);
}

static void
report (const Scenario *scenario)
{
  guint n = MAX (scenario->ms->len, 1);

  printf ("%-9s frames=%-3u median=%.2f ms p95=%.2f ms max=%.2f ms "
          "(columns %.2f ms on average; CPU median %.2f ms, p95 %.2f ms); "
          "read per frame: %.0f samples, %.0f bins\n",
          scenario->name, scenario->ms->len,
          quantile (scenario->ms, 0.5), quantile (scenario->ms, 0.95),
          quantile (scenario->ms, 1.0), scenario->fetch_ms / n,
          quantile (scenario->cpu_ms, 0.5), quantile (scenario->cpu_ms, 0.95),
          (double) scenario->samples / n, (double) scenario->bins / n);
}

static char *
simulate (const char *dir,
          double      seconds)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "bench.h5", NULL);
  ImpSimParams params;
  double start = now_ms ();

  imp_sim_params_init_default (&params);
  params.n_neurons = N_CHANNELS;
  params.duration_s = seconds;
  params.seed = 5;

  if (!imp_simulate (&params, path, NULL, NULL, NULL, NULL, &error))
    g_error ("Simulation failed: %s", error->message);

  printf ("simulated %u channels × %.0f s in %.1f s\n", N_CHANNELS,
          seconds, (now_ms () - start) / 1000);
  return path;
}

static gpointer
build_thread (gpointer data)
{
  g_autoptr(ImpPyramid) pyramid = data;
  g_autoptr(GError) error = NULL;

  if (!imp_pyramid_build (pyramid, NULL, NULL, NULL, &error))
    g_error ("Building the pyramid failed: %s", error->message);
  return NULL;
}

/* As the window does: opens the file and its pyramid (none yet, at a
 * fresh project path), starts building it in the background, and draws
 * the whole recording from what it can read meanwhile. Returns the time
 * to that first complete frame; *@build is the build's thread. */
static double
first_frame (Bench       *bench,
             const char  *path,
             const char  *project,
             GThread    **build,
             double      *build_start)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpPyramid) pyramid = NULL;
  double start = now_ms ();
  double opened;
  double ms;

  bench->recording = imp_recording_open (path, &error);
  if (bench->recording == NULL)
    g_error ("Cannot open the simulation: %s", error->message);
  bench->n_samples = imp_recording_get_n_samples (bench->recording);
  if (imp_recording_get_n_channels (bench->recording) < ROWS)
    {
      fprintf (stderr, "%s has fewer than %d channels\n", path, ROWS);
      exit (1);
    }

  pyramid = imp_pyramid_open (bench->recording, project, &error);
  if (pyramid == NULL)
    g_error ("Cannot open the pyramid: %s", error->message);
  g_assert (imp_pyramid_get_built_samples (pyramid) == 0);

  /* The frame does not see the pyramid grow: what a new view costs
   * before it has. */
  *build_start = now_ms ();
  *build = g_thread_new ("pyramid", build_thread, imp_pyramid_ref (pyramid));
  opened = now_ms () - start;
  frame (bench, 0, 0, bench->n_samples, NULL, NULL, NULL);
  ms = now_ms () - start;
  bench->pyramid = g_steal_pointer (&pyramid);
  printf ("first frame of the whole recording, before the pyramid: "
          "%.1f ms (%.1f ms to open the file and its pyramid)\n", ms,
          opened);
  return ms;
}

int
main (int   argc,
      char *argv[])
{
  const char *env = getenv ("IMP_BENCH_SECONDS");
  double seconds = env != NULL ? g_ascii_strtod (env, NULL) : DEFAULT_SECONDS;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *project = NULL;
  const char *recording;
  GThread *build = NULL;
  double build_start = 0;
  g_autofree guint32 *pixels = NULL;
  g_autoptr(GError) error = NULL;
  Scenario zoom_out = { "zoom-out" };
  Scenario zoom_in = { "zoom-in" };
  Scenario random = { "random" };
  Scenario start = { "start" };
  Scenario end = { "end" };
  Scenario *all[] = { &zoom_out, &zoom_in, &random, &start, &end };
  g_autoptr(GArray) every = NULL;
  g_autoptr(GArray) every_cpu = NULL;
  Bench bench = { 0 };
  double first_ms;
  double end_vs_start;

  /* As the application does (main.c): GLib's slice allocator is not
   * safe across the file probe's fork. Before GLib allocates. */
  setenv ("G_SLICE", "always-malloc", 1);
  pixels = g_new (guint32, WIDTH * HEIGHT);
  every = g_array_new (FALSE, FALSE, sizeof (double));
  every_cpu = g_array_new (FALSE, FALSE, sizeof (double));

  if (!(seconds > 0))
    {
      fprintf (stderr, "IMP_BENCH_SECONDS must be a positive number\n");
      return 1;
    }

  dir = g_dir_make_tmp ("imprint-bench-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);

  bench.image.pixels = pixels;
  bench.image.width = WIDTH;
  bench.image.height = HEIGHT;
  bench.image.stride = WIDTH;
  bench.rand = g_rand_new_with_seed (11);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      all[i]->ms = g_array_new (FALSE, FALSE, sizeof (double));
      all[i]->cpu_ms = g_array_new (FALSE, FALSE, sizeof (double));
    }

  recording = g_getenv ("IMP_BENCH_RECORDING");
  path = recording != NULL ? g_strdup (recording) : simulate (dir, seconds);
  project = g_build_filename (dir, "bench.imprint", NULL);
  first_ms = first_frame (&bench, path, project, &build, &build_start);
  g_thread_join (build);
  printf ("pyramid built in %.1f s (%.0f MiB of samples streamed)\n",
          (now_ms () - build_start) / 1000,
          (double) imp_recording_get_n_samples (bench.recording) *
          imp_recording_get_n_channels (bench.recording) * 2 / (1 << 20));

  for (guint i = 0; i < 10; i++)
    run (&bench, &zoom_out, random_first (&bench), 0, bench.n_samples);

  for (guint i = 0; i < 20; i++)
    run (&bench, &zoom_in, random_first (&bench),
         g_rand_double_range (bench.rand, 0,
                              bench.n_samples - min_span ()),
         min_span ());

  for (guint i = 0; i < 60; i++)
    {
      double span = random_span (&bench);

      run (&bench, &random, random_first (&bench),
           g_rand_double_range (bench.rand, 0, bench.n_samples - span),
           span);
    }

  /* The same windows at either end; spans up to a tenth of the file. */
  for (guint i = 0; i < 20; i++)
    {
      double span = exp (g_rand_double_range (bench.rand, log (min_span ()),
                                              log (bench.n_samples / 10.0)));
      guint first = random_first (&bench);

      run (&bench, &start, first, 0, span);
      run (&bench, &end, first, bench.n_samples - span, span);
    }

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      report (all[i]);
      g_array_append_vals (every, all[i]->ms->data, all[i]->ms->len);
      g_array_append_vals (every_cpu, all[i]->cpu_ms->data,
                           all[i]->cpu_ms->len);
    }

  end_vs_start = quantile (end.ms, 0.5) / quantile (start.ms, 0.5);
  /* The work itself, which other load on the machine does not stretch. */
  printf ("frame_cpu_ms_median=%.2f frame_cpu_ms_p95=%.2f "
          "end_vs_start_cpu=%.2f\n",
          quantile (every_cpu, 0.5), quantile (every_cpu, 0.95),
          quantile (end.cpu_ms, 0.5) / quantile (start.cpu_ms, 0.5));
  printf ("frame_ms_median=%.2f frame_ms_p95=%.2f first_frame_ms=%.1f "
          "end_vs_start=%.2f\n",
          quantile (every, 0.5), quantile (every, 0.95), first_ms,
          end_vs_start);

  imp_pyramid_unref (bench.pyramid);
  imp_recording_unref (bench.recording);
  if (recording == NULL)
    g_unlink (path);
  g_unlink (project);
  g_rmdir (dir);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_array_unref (all[i]->ms);
      g_array_unref (all[i]->cpu_ms);
    }
  g_rand_free (bench.rand);

  return 0;
}
