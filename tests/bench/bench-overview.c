/* bench-overview.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "imp-activity.h"
#include "imp-array-view-private.h"
#include "imp-native.h"
#include "imp-session.h"

/* The array overview of a 64 × 64 array: the time to draw a frame (the
 * target is well under a 60 Hz frame, 16 ms, on one core), to find the
 * electrode under the pointer, and to measure the activity of a window
 * of all 4,096 channels. IMP_BENCH_RECORDING measures a given recording
 * instead of the generated one. */

#define SIDE      64
#define N_SAMPLES 16384
#define FRAMES    60

static gboolean
done_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static char *
write_array (const char *dir)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint16 *counts = NULL;
  guint n = SIDE * SIDE;
  char *path = g_build_filename (dir, "array.h5", NULL);
  gint64 block = 1024;

  writer = imp_native_writer_new (path, n, 10000, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < n; c++)
    {
      g_autofree char *label = g_strdup_printf ("R%uC%u", c / SIDE + 1,
                                                c % SIDE + 1);

      imp_native_writer_set_channel (writer, c, label, "mV", 0.01, 0,
                                     30.0 * (c % SIDE), 30.0 * (c / SIDE),
                                     c % 3 == 0 ? IMP_ACCESS_INTRACELLULAR
                                                : IMP_ACCESS_EXTRACELLULAR);
    }

  counts = g_new (gint16, (gsize) block * n);
  for (gint64 s0 = 0; s0 < N_SAMPLES; s0 += block)
    {
      for (gint64 s = 0; s < block; s++)
        for (guint c = 0; c < n; c++)
          counts[s * n + c] = (gint16) (-6500 + (c % 97) *
                                        sin ((s0 + s) * 0.01 * (1 + c % 7)));
      imp_native_writer_append (writer, counts, block, &error);
      g_assert_no_error (error);
    }
  imp_native_writer_close (writer, &error);
  g_assert_no_error (error);

  return path;
}

/* Milliseconds per frame of the overview, drawn with cairo into an image
 * as the cairo renderer does. */
static double
time_frames (GtkWidget *view,
             GtkWidget *canvas)
{
  cairo_surface_t *surface;
  gint64 start;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                        gtk_widget_get_width (canvas),
                                        gtk_widget_get_height (canvas));
  start = g_get_monotonic_time ();
  for (guint i = 0; i < FRAMES; i++)
    {
      cairo_t *cr = cairo_create (surface);

      _imp_array_view_draw (IMP_ARRAY_VIEW (view), cr);
      cairo_destroy (cr);
    }
  cairo_surface_destroy (surface);

  return (g_get_monotonic_time () - start) / 1000.0 / FRAMES;
}

static gboolean
measuring (gpointer data)
{
  return _imp_array_view_is_measuring (data);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpSession) session = imp_session_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(GArray) chosen = g_array_new (FALSE, FALSE, sizeof (guint));
  const char *given = g_getenv ("IMP_BENCH_RECORDING");
  GtkWidget *window, *view, *canvas;
  double rate, ms;
  gint64 start;
  guint n;

  gtk_init ();
  adw_init ();

  if (given == NULL)
    {
      dir = g_dir_make_tmp ("imprint-bench-overview-XXXXXX", &error);
      g_assert_no_error (error);
      path = write_array (dir);
    }
  recording = imp_recording_open (given != NULL ? given : path, &error);
  g_assert_no_error (error);
  n = imp_recording_get_n_channels (recording);
  rate = imp_recording_get_sample_rate (recording);
  imp_session_set_recording (session, recording);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 340, 760);
  view = imp_array_view_new (session);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  canvas = _imp_array_view_get_canvas (IMP_ARRAY_VIEW (view));
  while (gtk_widget_get_width (canvas) < 100)
    g_main_context_iteration (NULL, TRUE);
  spin (100);

  /* A fifth of the electrodes chosen, a screenful of them in Traces. */
  for (guint c = 0; c < n; c += 5)
    g_array_append_val (chosen, c);
  imp_session_set_channels (session, (guint *) chosen->data, chosen->len);
  imp_session_set_shown_channels (session, (guint *) chosen->data,
                                  MIN (chosen->len, 16));

  g_print ("%u electrodes, canvas %d × %d px\n", n,
           gtk_widget_get_width (canvas), gtk_widget_get_height (canvas));
  ms = time_frames (view, canvas);
  g_print ("frame, coloured by access: %.2f ms\n", ms);

  imp_session_set_focus (session, 0, MIN (5.0,
                                          imp_recording_get_n_samples (
                                            recording) / rate));
  start = g_get_monotonic_time ();
  imp_array_view_set_measure (IMP_ARRAY_VIEW (view),
                              IMP_ARRAY_MEASURE_RMS);
  while (measuring (view))
    g_main_context_iteration (NULL, TRUE);
  g_print ("activity of the focus (all channels, in the background): "
           "%.0f ms\n", (g_get_monotonic_time () - start) / 1000.0);
  ms = time_frames (view, canvas);
  g_print ("frame, coloured by RMS: %.2f ms\n", ms);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *tooltip = NULL;

      tooltip = _imp_array_view_get_tooltip (IMP_ARRAY_VIEW (view),
                                             g_rand_double_range (rand, 0,
                                               gtk_widget_get_width (canvas)),
                                             g_rand_double_range (rand, 0,
                                               gtk_widget_get_width (canvas)));
    }
  g_print ("electrode and tooltip under the pointer: %.1f µs\n",
           (g_get_monotonic_time () - start) / 2000.0);

  gtk_window_destroy (GTK_WINDOW (window));
  spin (50);
  if (path != NULL)
    {
      g_unlink (path);
      g_rmdir (dir);
    }

  return 0;
}
