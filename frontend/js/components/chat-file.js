// chat-file.js: a file shared in a chat: an image as a thumbnail (?thumb=1) that opens full size
// in the image viewer, anything else as a download link with its name and size. The URL was
// checked to be our file function's (frames.fileOf); the name is shown as text.
import { state } from '../store.js';
import { formatSize } from '../util.js';

// Types the server makes thumbnails of (docs/files.md); anything else is a download.
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export default {
  props: { file: { type: Object, required: true } },
  setup(props) {
    const isImage = () => IMAGE_TYPES.has(props.file.contentType);
    const view = () => (state.viewer = { url: props.file.url, name: props.file.name });
    return { isImage, view, formatSize };
  },
  template: `
    <div class="chatr-file" data-testid="file">
      <button v-if="isImage()" type="button" class="chatr-thumb-button" :title="'Open ' + file.name" @click="view">
        <img class="chatr-thumb" :src="file.url + '?thumb=1'" :alt="file.name" loading="lazy" data-testid="thumbnail">
      </button>
      <a v-else class="chatr-download" :href="file.url" :download="file.name" data-testid="download" rel="noopener">
        <span class="icon"><i class="fa-solid fa-file-arrow-down"></i></span>
        <span class="chatr-file-name" data-testid="file-name">{{ file.name }}</span>
        <span v-if="file.size !== null" class="chatr-file-size">{{ formatSize(file.size) }}</span>
      </a>
    </div>
  `,
};
