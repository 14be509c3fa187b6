/** Browser stand-in for pngjs (src/quant/images.ts): the page decodes PNG with createImageBitmap instead (see README.md). */
export const PNG = {
  sync: {
    read(): never {
      throw new Error('PNG is decoded by the browser in the page');
    },
  },
};
