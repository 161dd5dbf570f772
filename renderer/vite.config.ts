// Vite's build config for the console page (not part of the page: no Node imports, so the
// renderer's layer rule holds here too; paths come from import.meta.dirname).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: { outDir: `${import.meta.dirname}/../dist/renderer`, emptyOutDir: true, chunkSizeWarningLimit: 1000 },
});
