/* imp-raster.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Traces drawn straight into pixels, for views of many channels at once:
 * writing a few pixels per column costs a small fraction of stroking the
 * same columns with a vector library.
 *
 * The image holds premultiplied 32-bit pixels 0xAARRGGBB in the machine's
 * byte order: Cairo's ARGB32, and GDK_MEMORY_DEFAULT for a
 * GdkMemoryTexture. Pixel (x, y) covers [x, x + 1) × [y, y + 1). */

typedef struct
{
  guint32 *pixels;
  int      width;
  int      height;
  int      stride;     /* in pixels */
} ImpRasterImage;

/* One channel's trace: per column the least and greatest value, drawn as
 * the band between the line through the columns' maxima and the line
 * through their minima (a polyline when they coincide), widened by
 * @line_width. Column c stands at x = @x0 + c × @dx, its values at
 * y = @offset - value × @scale. A column with a NaN or infinite value, or
 * min > max, is a gap: nothing is drawn to it or from it. Only pixels
 * inside both the image and the clip rectangle are written; the partly
 * covered pixels at the ends of each pixel column's span get that part of
 * the colour. */
typedef struct
{
  const float *min;
  const float *max;
  guint        n_columns;
  double       x0;
  double       dx;           /* > 0 */
  double       offset;
  double       scale;
  double       line_width;   /* in pixels, >= 0 */
  int          clip_left;    /* the clip rectangle, [left, right) */
  int          clip_top;     /* × [top, bottom) */
  int          clip_right;
  int          clip_bottom;
  guint32      color;        /* premultiplied 0xAARRGGBB */
} ImpRasterTrace;

guint32  imp_raster_color      (double                red,
                                double                green,
                                double                blue,
                                double                alpha);
void     imp_raster_clear      (ImpRasterImage       *image,
                                guint32               color);
void     imp_raster_fill_rect  (ImpRasterImage       *image,
                                int                   x,
                                int                   y,
                                int                   width,
                                int                   height,
                                guint32               color);
void     imp_raster_draw_trace (ImpRasterImage       *image,
                                const ImpRasterTrace *trace);

G_END_DECLS
