import type { emailEn } from './email.en.ts';

/** Messages of the email pages (zh-CN). */
export const emailZhCN: Record<keyof typeof emailEn, string> = {
  // 验证码邮件。
  'email.code_subject': '{service} 验证码：{code}',
  'email.code_text':
    '您的 {service} 验证码是：\n\n{code}\n\n{minutes} 分钟内有效。此验证码用于 {service} 账户 {account} 的登录或操作确认。\n\n如果这不是您本人的操作，请忽略本邮件并尽快修改密码：可能有人知道了您的密码。请勿将验证码告诉任何人，{service} 的工作人员不会向您索要验证码。',
  'email.code_text_bind':
    '您的 {service} 验证码是：\n\n{code}\n\n输入此验证码，即可将本邮箱设为 {service} 账户 {account} 的恢复邮箱。{minutes} 分钟内有效。\n\n如果这不是您本人的操作，请忽略本邮件，本邮箱不会被添加。请勿将验证码告诉任何人，{service} 的工作人员不会向您索要验证码。',
  'email.send_failed': '邮件未能发出。请过几分钟再试，或改用其他验证方式。',

  // 设置 → 安全 → 恢复邮箱
  'email.title': '恢复邮箱',
  'email.intro': '添加一个其他服务商的邮箱后，登录和确认操作时的验证码可以发送到该邮箱，例如手机不在身边的时候。',
  'email.none': '未设置',
  'email.current': '验证码可发送到 {to}。',
  'email.add': '添加恢复邮箱',
  'email.change': '更换恢复邮箱',
  'email.address': '邮箱地址',
  'email.new_address': '新的邮箱地址',
  'email.address_hint': '请使用其他服务商的邮箱，不要用本邮件系统的地址，这样即使无法登录这里，也能收到验证码。',
  'email.send': '发送验证码',
  'email.code_sent': '验证码已发送到 {to}。',
  'email.code_sent_page': '6 位验证码已发送到 {to}，{minutes} 分钟内有效。如未收到，请查看垃圾邮件文件夹。',
  'email.tries_left': '还可以尝试 {count} 次。',
  'email.confirm': '确认邮箱',
  'email.other_address': '地址填错了？请在下方重新输入。',
  'email.code_wrong': '验证码错误。',
  'email.code_wrong_tries': '验证码错误，还可以尝试 {count} 次。',
  'email.code_used_up': '此验证码输错次数过多，已失效。请重新获取验证码。',
  'email.code_expired': '验证码已过期或已被新的验证码取代，请重新获取。',
  'email.invalid': '邮箱地址格式不正确，请检查后重试。',
  'email.own_address': '这是本账户自己的邮箱地址。请填写其他服务商的邮箱。',
  'email.inside': '此地址属于本邮件系统。请填写其他服务商的邮箱，这样即使无法登录这里，也能收到验证码。',
  'email.added': '已添加恢复邮箱 {to}。',
  'email.changed': '恢复邮箱已更换为 {to}，所有可信任设备已失效。',
  'email.remove': '移除恢复邮箱',
  'email.remove_hint': '移除后将不再向该邮箱发送验证码，所有可信任设备同时失效。如果这是您唯一的验证方式，二次验证将关闭。',
  'email.remove_required': '管理员要求启用二次验证，而这是您唯一的验证方式。请先添加其他验证方式，再移除恢复邮箱。',
  'email.removed': '恢复邮箱已移除。',
};
