/**
 * The tray icon's lifecycle: created once, its icon, tooltip and menu set again from
 * tray-menu.ts's pure view on every status or setting change, destroyed on Quit.
 */
import { join } from 'node:path';
import { Menu, nativeImage, nativeTheme, Tray, type MenuItemConstructorOptions } from 'electron';
import type { ClientStatus } from '../shared/types/status.js';
import { trayIconFile, trayView, type TrayAction, type TrayItem, type TrayOptions } from './tray-menu.js';

export class TrayController {
  private readonly tray: Tray;
  private status: ClientStatus | undefined;

  constructor(
    private readonly iconDir: string,
    private options: TrayOptions,
    private readonly onAction: (action: TrayAction) => void,
  ) {
    this.tray = new Tray(nativeImage.createFromPath(this.iconFor('off')));
    nativeTheme.on('updated', () => this.render());
    this.render();
  }

  update(status: ClientStatus): void {
    this.status = status;
    this.render();
  }

  setOptions(options: TrayOptions): void {
    this.options = options;
    this.render();
  }

  destroy(): void {
    if (!this.tray.isDestroyed()) this.tray.destroy();
  }

  private iconFor(state: Parameters<typeof trayIconFile>[0]): string {
    return join(this.iconDir, trayIconFile(state, nativeTheme.shouldUseDarkColors ? 'dark' : 'light'));
  }

  private render(): void {
    if (this.tray.isDestroyed()) return;
    const view = trayView(this.status, this.options);
    this.tray.setImage(nativeImage.createFromPath(this.iconFor(view.state)));
    this.tray.setToolTip(view.tooltip);
    this.tray.setContextMenu(Menu.buildFromTemplate(view.items.map((item) => this.menuItem(item))));
  }

  private menuItem(item: TrayItem): MenuItemConstructorOptions {
    if (item.type === 'separator') return { type: 'separator' };
    const action = item.action;
    return {
      label: item.label,
      type: item.type ?? 'normal',
      ...(item.checked !== undefined ? { checked: item.checked } : {}),
      enabled: item.enabled ?? true,
      ...(action ? { click: () => this.onAction(action) } : {}),
    };
  }
}
